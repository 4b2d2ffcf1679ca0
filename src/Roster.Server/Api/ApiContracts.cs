using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roster.Server.Api;

/// <summary>Body of <c>PUT .../instances/{id}</c>. Unknown fields are refused, so a typo is an error, not a silent default.</summary>
internal sealed class RegisterRequest
{
    public string? Address { get; set; }

    public int? Port { get; set; }

    public string? Scheme { get; set; }

    public string? Zone { get; set; }

    public string? Version { get; set; }

    public int? Weight { get; set; }

    [JsonConverter(typeof(MetadataConverter))]
    public KeyValuePair<string, string>[]? Metadata { get; set; }

    public int? TtlSeconds { get; set; }

    public bool? Persistent { get; set; }

    /// <summary>When given, an update of that incarnation (409 when it is no longer current).</summary>
    public long? Incarnation { get; set; }

    // Named so that executable health checks get a precise refusal rather than "unknown field".
    public JsonElement? Check { get; set; }

    public JsonElement? Checks { get; set; }

    public JsonElement? HealthCheck { get; set; }
}

/// <summary>Body of <c>PATCH .../instances/{id}</c>: operator state. Absent fields stay; <c>"weight": null</c> clears the override.</summary>
internal sealed class OperatorRequest
{
    public bool? Drained { get; set; }

    public bool? Disabled { get; set; }

    public JsonElement Weight { get; set; }
}

internal sealed class RenewRequest
{
    public List<RenewItem?>? Leases { get; set; }
}

internal sealed class RenewItem
{
    public string? Namespace { get; set; }

    public string? Service { get; set; }

    public string? Id { get; set; }

    public long Incarnation { get; set; }
}

/// <summary>An RFC 7807 problem, with the offending field named in <c>field</c>.</summary>
internal sealed record ApiProblem(string Type, string Title, int Status, string Detail, string? Field);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = 8,
    NumberHandling = JsonNumberHandling.Strict,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(RegisterRequest))]
[JsonSerializable(typeof(OperatorRequest))]
[JsonSerializable(typeof(RenewRequest))]
[JsonSerializable(typeof(ApiProblem))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
