namespace Roster.Client;

/// <summary>An instance to register: where it is, and what consumers may know about it.</summary>
/// <param name="Namespace">The namespace, for example <c>prod</c>.</param>
/// <param name="Service">The service name, for example <c>orders</c>.</param>
/// <param name="Id">The instance id, unique within the service.</param>
/// <param name="Address">The address consumers connect to.</param>
/// <param name="Port">The port consumers connect to.</param>
public sealed record InstanceRegistration(string Namespace, string Service, string Id, string Address, int Port)
{
    /// <summary><c>http</c> or <c>https</c>; the registry's default (http) when null.</summary>
    public string? Scheme { get; init; }

    /// <summary>The zone, for zone-preferring load balancing; none when null.</summary>
    public string? Zone { get; init; }

    /// <summary>The version the instance runs; none when null.</summary>
    public string? Version { get; init; }

    /// <summary>The load-balancing weight; the registry's default when null.</summary>
    public int? Weight { get; init; }

    /// <summary>Free-form metadata; none when null.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>The lease's time to live in seconds; the registry's default (10 s) when null.</summary>
    public int? TtlSeconds { get; init; }
}
