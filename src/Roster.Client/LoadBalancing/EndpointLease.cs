using Roster.Client.LoadBalancing;

namespace Roster.Client;

/// <summary>
/// An endpoint chosen for one request. Call <see cref="Complete"/> exactly once when the request ends,
/// so the balancer counts it out of flight and learns its latency and outcome.
/// </summary>
public readonly struct EndpointLease
{
    private readonly RosterLoadBalancer _balancer;
    private readonly ServiceTable _table;
    private readonly long _started;

    internal EndpointLease(RosterLoadBalancer balancer, InstanceEndpoint endpoint, ServiceTable table, int index, long started)
    {
        _balancer = balancer;
        Endpoint = endpoint;
        _table = table;
        Index = index;
        _started = started;
    }

    /// <summary>The endpoint to send the request to.</summary>
    public InstanceEndpoint Endpoint { get; }

    /// <summary>The endpoint's position in the list it was chosen from.</summary>
    internal int Index { get; }

    /// <summary>"scheme://address:port" of <see cref="Endpoint"/>.</summary>
    internal string Origin => _table.OriginOf(Index);

    /// <summary>Ends the request: <paramref name="retryAfter"/> is how long a rejecting endpoint asked to be left alone.</summary>
    public void Complete(RequestOutcome outcome, TimeSpan? retryAfter = null) => _balancer.Complete(_table, Index, _started, outcome, retryAfter);
}
