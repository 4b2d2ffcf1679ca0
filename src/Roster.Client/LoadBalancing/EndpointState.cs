namespace Roster.Client;

/// <summary>What a <see cref="RosterLoadBalancer"/> knows of one endpoint at one moment (see <see cref="RosterLoadBalancer.Describe"/>).</summary>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="InFlight">Requests sent to it that have not completed.</param>
/// <param name="Sent">Requests sent to it since this balancer first saw this incarnation.</param>
/// <param name="ConsecutiveFailures">Failures since its last success.</param>
/// <param name="EjectedFor">How much longer it is ejected for failing; zero when it is not.</param>
/// <param name="SkippedFor">How much longer it is skipped after rejecting a request; zero when it is not.</param>
/// <param name="Latency">Its recent latency (a moving average); zero before its first success.</param>
public sealed record EndpointState(
    InstanceEndpoint Endpoint, int InFlight, long Sent, int ConsecutiveFailures, TimeSpan EjectedFor, TimeSpan SkippedFor, TimeSpan Latency);
