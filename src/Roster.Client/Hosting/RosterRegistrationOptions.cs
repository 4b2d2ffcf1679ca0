namespace Roster.Client;

/// <summary>
/// What this process registers when it runs under the generic host. Every default is stated on its
/// property; <see cref="Namespace"/>, <see cref="Service"/>, <see cref="Address"/> and <see cref="Port"/> are required.
/// </summary>
public sealed class RosterRegistrationOptions
{
    /// <summary>The namespace, for example <c>prod</c>. Required.</summary>
    public string Namespace { get; set; } = "";

    /// <summary>The service this process provides, for example <c>orders</c>. Required.</summary>
    public string Service { get; set; } = "";

    /// <summary>The instance id; <c>{service}-{machine}-{port}</c> when null.</summary>
    public string? InstanceId { get; set; }

    /// <summary>The address consumers connect to. Required.</summary>
    public string? Address { get; set; }

    /// <summary>The port consumers connect to. Required.</summary>
    public int? Port { get; set; }

    /// <summary><c>http</c> or <c>https</c>; the registry's default (http) when null.</summary>
    public string? Scheme { get; set; }

    /// <summary>The zone; none when null.</summary>
    public string? Zone { get; set; }

    /// <summary>The version; none when null.</summary>
    public string? Version { get; set; }

    /// <summary>The load-balancing weight; the registry's default when null.</summary>
    public int? Weight { get; set; }

    /// <summary>Free-form metadata. Default: none.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    /// <summary>The lease's time to live in seconds; the registry's default (10 s) when null.</summary>
    public int? TtlSeconds { get; set; }

    /// <summary>Renewal, retry and drain timing.</summary>
    public RegistrationAgentOptions Agent { get; } = new();

    internal InstanceRegistration ToRegistration(IReadOnlyList<IRosterAddressSource>? addressSources = null)
    {
        var address = Address;
        var port = Port;
        var scheme = Scheme;
        if ((string.IsNullOrEmpty(address) || port is null) && addressSources is not null)
        {
            foreach (var source in addressSources)
            {
                if (source.GetAddress() is { } found)
                {
                    address = string.IsNullOrEmpty(address) ? found.Address : address;
                    port ??= found.Port;
                    scheme ??= found.Scheme;
                    break;
                }
            }
        }

        if (string.IsNullOrEmpty(Namespace) || string.IsNullOrEmpty(Service) || string.IsNullOrEmpty(address) || port is null)
        {
            throw new InvalidOperationException(
                "RosterRegistrationOptions needs Namespace, Service, Address and Port (Address and Port may come from the web server's addresses with Roster.Client.AspNetCore).");
        }

        return new InstanceRegistration(Namespace, Service, InstanceId ?? $"{Service}-{Environment.MachineName}-{port}".ToLowerInvariant(), address, port.Value)
        {
            Scheme = scheme,
            Zone = Zone,
            Version = Version,
            Weight = Weight,
            Metadata = Metadata.Count == 0 ? null : new Dictionary<string, string>(Metadata),
            TtlSeconds = TtlSeconds,
        };
    }
}
