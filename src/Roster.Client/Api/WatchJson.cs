using System.Text.Json;

namespace Roster.Client.Api;

/// <summary>An instance as the registry's snapshots and watch events write it.</summary>
internal sealed record InstanceData(
    string Id,
    string Address,
    int Port,
    string Scheme,
    string Zone,
    string Version,
    int Weight,
    int EffectiveWeight,
    JsonElement Metadata,
    long Incarnation,
    bool Drained,
    bool Disabled);

/// <summary>One service's full list: in a <c>reset</c> event, a snapshot answer, or the disk cache.</summary>
internal sealed record ServiceData(string Name, long Sequence, string Digest, IReadOnlyList<InstanceData> Instances);

/// <summary>The data of a <c>reset</c> event: the full lists of the watched services at one revision.</summary>
internal sealed record ResetData(long Revision, string RegistryId, string Namespace, IReadOnlyList<ServiceData> Services);

/// <summary>The data of an <c>upsert</c> (with <see cref="Instance"/>) or <c>delete</c> (with <see cref="Id"/>) event.</summary>
internal sealed record ChangeData(long Revision, string Service, long Sequence, string Digest, string? Id, long Incarnation, InstanceData? Instance);

/// <summary>The last event of a stream the registry ended: why, and the revision to resume after.</summary>
internal sealed record DisconnectData(string Reason, long ResumeFrom);

/// <summary>The answer of <c>GET .../services/{service}</c>.</summary>
internal sealed record SnapshotAnswer(string RegistryId, long Revision, long Sequence, string Digest, IReadOnlyList<InstanceData> Instances);

/// <summary>The answer of <c>GET .../services</c>: every service's sequence and digest, for the periodic check.</summary>
internal sealed record ServiceListAnswer(long Revision, IReadOnlyList<ServiceSummary> Services);

/// <summary>One service in <see cref="ServiceListAnswer"/>.</summary>
internal sealed record ServiceSummary(string Name, int Instances, long Sequence, string Digest);

/// <summary>A service's list as the disk cache keeps it, so a process started during an outage can use it.</summary>
internal sealed record CachedServiceFile(string RegistryId, string Namespace, DateTimeOffset SavedAt, ServiceData Service);
