using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Roster.Client.Sources;

/// <summary>
/// Where an <see cref="IEndpointSourceProvider"/> reports what it reads for one service. Each report goes to the discovery
/// loop, the only writer of the lists: reporting never blocks and never runs discovery's code on the caller's thread.
/// </summary>
public sealed class EndpointSourceFeed
{
    private readonly Action<EndpointSourceFeed, object> _post;

    internal EndpointSourceFeed(string service, string target, string origin, TimeProvider time, ILogger logger, Action<EndpointSourceFeed, object> post)
    {
        Service = service;
        Target = target;
        Origin = origin;
        Time = time;
        Logger = logger;
        _post = post;
    }

    /// <summary>The service whose list this source gives.</summary>
    public string Service { get; }

    /// <summary>The target, as configured.</summary>
    public string Target { get; }

    /// <summary>The provider's scheme, which the lists carry as their <see cref="ServiceEndpoints.Origin"/>.</summary>
    public string Origin { get; }

    /// <summary>Discovery's clock: for the source's timers and pauses.</summary>
    public TimeProvider Time { get; }

    /// <summary>Discovery's logger.</summary>
    public ILogger Logger { get; }

    /// <summary>
    /// The source's whole current list. <paramref name="version"/> grows with each change the source makes (etcd's
    /// revision, Kubernetes' resource version when it is a number). <paramref name="confirmed"/>: the source itself said
    /// the list is what it holds now, in an answer that follows the last one (a change, or a read of the same store at a
    /// later version). An empty list that is not confirmed (a store that may have been replaced or wiped) does not
    /// replace a non-empty one until <see cref="RosterDiscoveryOptions.EmptyConfirmationPeriod"/> has passed with the
    /// source still saying empty.
    /// </summary>
    public void Publish(IEnumerable<InstanceEndpoint> endpoints, long version, bool confirmed)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _post(this, new Listed([.. endpoints.OrderBy(e => e.Id, StringComparer.Ordinal)], version, confirmed));
    }

    /// <summary>The source cannot be reached: the last list stays in use and is reported as out of date from now.</summary>
    public void Unreachable(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        _post(this, new Lost(reason));
    }

    internal sealed record Listed(ImmutableArray<InstanceEndpoint> Endpoints, long Version, bool Confirmed);

    internal sealed record Lost(string Reason);
}
