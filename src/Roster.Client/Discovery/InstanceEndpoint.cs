namespace Roster.Client;

/// <summary>One instance of a service, as a consumer needs it to send a request.</summary>
/// <param name="Id">The instance id.</param>
/// <param name="Address">The address to connect to.</param>
/// <param name="Port">The port to connect to.</param>
public sealed record InstanceEndpoint(string Id, string Address, int Port)
{
    /// <summary><c>http</c> or <c>https</c>.</summary>
    public string Scheme { get; init; } = "http";

    /// <summary>The zone; empty when none.</summary>
    public string Zone { get; init; } = "";

    /// <summary>The version; empty when none.</summary>
    public string Version { get; init; } = "";

    /// <summary>The weight for load balancing after operator overrides; 0 receives no new requests.</summary>
    public int Weight { get; init; } = 100;

    /// <summary>Receives no new requests: drained or disabled by an operator or by its own shutdown, or, registered through
    /// the registry's Consul or Eureka API, its check failing or its status other than <c>UP</c>.</summary>
    public bool Drained { get; init; }

    /// <summary>The instance's incarnation (its registration's identity).</summary>
    public long Incarnation { get; init; }

    /// <summary>The provider's metadata (string to string); empty when none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = System.Collections.Frozen.FrozenDictionary<string, string>.Empty;

    /// <summary>The base address of the instance: <c>scheme://address:port/</c>.</summary>
    public Uri ToUri() => new UriBuilder(Scheme, Address, Port).Uri;
}
