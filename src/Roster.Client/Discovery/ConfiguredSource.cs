using Roster.Client.Sources;

namespace Roster.Client.Discovery;

/// <summary>A service's entry in <see cref="RosterDiscoveryOptions.Sources"/>: its target, and the provider that reads it (none for a static list).</summary>
internal sealed record ConfiguredSource(string Target, IEndpointSourceProvider? Provider)
{
    /// <summary>What lists from this source carry as their <see cref="ServiceEndpoints.Origin"/>: the target's scheme.</summary>
    public string Origin => Provider?.Scheme ?? "static";
}
