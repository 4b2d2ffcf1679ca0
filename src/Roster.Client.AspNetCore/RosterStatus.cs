using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roster.Client.AspNetCore;

/// <summary>
/// What this process sees of Roster, as <c>MapRosterStatus</c> serves it: whether it drains, and for each
/// service it calls, the list it holds (source, origin, age) and what the balancer knows of every endpoint.
/// </summary>
internal sealed record RosterStatus(bool Draining, string? Namespace, IReadOnlyList<ServiceStatus> Services)
{
    public static RosterStatus Read(RosterProviderState? provider, RosterDiscovery? discovery, RosterLoadBalancer? balancer, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var services = discovery?.KnownServices().Select(list => new ServiceStatus(
            list.Service,
            list.Source.ToString().ToLowerInvariant(),
            list.Origin,
            list.Sequence,
            list.AgeAt(now).TotalSeconds,
            [.. balancer!.Describe(list).Select(EndpointStatus.Of)])).ToArray(); // AddDiscovery registers both
        return new RosterStatus(provider?.IsDraining ?? false, discovery?.Namespace, services ?? []);
    }
}

internal sealed record ServiceStatus(string Service, string Source, string Origin, long Sequence, double AgeSeconds, IReadOnlyList<EndpointStatus> Endpoints);

internal sealed record EndpointStatus(
    string Id, string Address, int Port, string Zone, int Weight, bool Drained,
    int InFlight, long Sent, int ConsecutiveFailures, double EjectedForSeconds, double SkippedForSeconds, double LatencyMilliseconds)
{
    public static EndpointStatus Of(EndpointState state) => new(
        state.Endpoint.Id, state.Endpoint.Address, state.Endpoint.Port, state.Endpoint.Zone, state.Endpoint.Weight, state.Endpoint.Drained,
        state.InFlight, state.Sent, state.ConsecutiveFailures, state.EjectedFor.TotalSeconds, state.SkippedFor.TotalSeconds,
        state.Latency.TotalMilliseconds);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RosterStatus))]
internal sealed partial class RosterStatusJson : JsonSerializerContext;
