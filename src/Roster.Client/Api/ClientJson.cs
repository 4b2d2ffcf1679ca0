using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roster.Client.Api;

/// <summary>The body of a registration, as the registry's API names its fields.</summary>
internal sealed record RegisterBody(
    string Address, int Port, string? Scheme, string? Zone, string? Version, int? Weight, IReadOnlyDictionary<string, string>? Metadata, int? TtlSeconds);

internal sealed record RenewBody(IReadOnlyList<LeaseRenewal> Leases);

internal sealed record RenewAnswer(IReadOnlyList<string> Results);

internal sealed record InstanceAnswer(string Id, long Incarnation, long Revision, int TtlSeconds);

internal sealed record ProblemAnswer(string? Title, int Status, string? Detail, string? Field);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RegisterBody))]
[JsonSerializable(typeof(RenewBody))]
[JsonSerializable(typeof(RenewAnswer))]
[JsonSerializable(typeof(InstanceAnswer))]
[JsonSerializable(typeof(ProblemAnswer))]
[JsonSerializable(typeof(ResetData))]
[JsonSerializable(typeof(ChangeData))]
[JsonSerializable(typeof(DisconnectData))]
[JsonSerializable(typeof(SnapshotAnswer))]
[JsonSerializable(typeof(ServiceListAnswer))]
[JsonSerializable(typeof(CachedServiceFile))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
