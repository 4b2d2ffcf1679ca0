using Roster.Client.Api;

namespace Roster.Client.Discovery;

/// <summary>
/// What the discovery loop is told. Everything that changes discovery state arrives as one of these
/// in the loop's inbox, so one task owns that state and nothing is locked. Stream messages carry the
/// generation of the stream that sent them: a message from a stream the loop has replaced is ignored.
/// </summary>
internal abstract record DiscoveryMessage
{
    /// <summary>A caller wants a service's list; <see cref="Waiter"/> completes with the first one.</summary>
    public sealed record Interest(string Service, TaskCompletionSource<ServiceEndpoints>? Waiter) : DiscoveryMessage;

    public sealed record Subscribe(EndpointSubscription Subscription) : DiscoveryMessage;

    public sealed record Unsubscribe(EndpointSubscription Subscription) : DiscoveryMessage;

    /// <summary>A watch stream's headers arrived from the registry named <see cref="RegistryId"/>.</summary>
    public sealed record StreamOpened(int Generation, string? RegistryId) : DiscoveryMessage;

    /// <summary>One event of a watch stream: <see cref="ResetData"/>, <see cref="ChangeData"/> or <see cref="DisconnectData"/>.</summary>
    public sealed record StreamEvent(int Generation, object Data) : DiscoveryMessage;

    /// <summary>A watch stream ended or could not be opened.</summary>
    public sealed record StreamEnded(int Generation, string Reason) : DiscoveryMessage;

    /// <summary>Time to open the stream again after a failure.</summary>
    public sealed record Reconnect(int Generation) : DiscoveryMessage;

    public sealed record SnapshotLoaded(string Service, SnapshotAnswer Snapshot) : DiscoveryMessage;

    public sealed record SnapshotFailed(string Service, string Reason) : DiscoveryMessage;

    /// <summary>The registry's sequences and digests of every service, for the periodic comparison.</summary>
    public sealed record ListingLoaded(ServiceListAnswer Listing) : DiscoveryMessage;

    /// <summary>Time for the periodic digest check.</summary>
    public sealed record DigestTick : DiscoveryMessage;

    /// <summary>A caller has waited <see cref="RosterDiscoveryOptions.DiskFallbackDelay"/> for a service: use the disk cache if the registry has not answered.</summary>
    public sealed record DiskFallback(string Service) : DiscoveryMessage;

    /// <summary>Time to write the lists changed since the last write to the cache directory.</summary>
    public sealed record FlushDisk : DiscoveryMessage;

    /// <summary>The configured sources changed: services and their sources, all checked already.</summary>
    public sealed record SourcesChanged(IReadOnlyDictionary<string, ConfiguredSource> Sources) : DiscoveryMessage;

    /// <summary>A source provider reported a list or an outage (<see cref="Sources.EndpointSourceFeed"/>'s reports) through <see cref="Feed"/>.</summary>
    public sealed record SourceReport(Sources.EndpointSourceFeed Feed, object Report) : DiscoveryMessage;
}
