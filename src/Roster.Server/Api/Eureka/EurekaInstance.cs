using System.Globalization;
using Roster.Core.Model;

namespace Roster.Server.Api.Eureka;

/// <summary>
/// The metadata entries in which Roster keeps what a Eureka registration says that Roster's own fields do not. Each is
/// written only when it differs from what the Roster fields give, so a Roster-native instance has none of them.
/// </summary>
internal static class EurekaMetadata
{
    /// <summary>Every entry of Roster's for Eureka starts with it; a registration's own metadata may not.</summary>
    public const string Prefix = "eureka-";

    /// <summary>The status the client reported when not <c>UP</c> (<c>DOWN</c>, <c>STARTING</c>, <c>OUT_OF_SERVICE</c>, <c>UNKNOWN</c>).</summary>
    public const string Status = "eureka-status";

    /// <summary>The <c>hostName</c>, when not the Roster address (which is the <c>ipAddr</c>).</summary>
    public const string HostName = "eureka-hostname";

    /// <summary>The <c>vipAddress</c>, when not the service name.</summary>
    public const string VipAddress = "eureka-vip";

    /// <summary>The <c>secureVipAddress</c>, when not the service name.</summary>
    public const string SecureVipAddress = "eureka-secure-vip";

    /// <summary>The secure port, when both ports are enabled (the Roster port is then the plain one).</summary>
    public const string SecurePort = "eureka-secure-port";

    public const string HomePageUrl = "eureka-home-page";
    public const string StatusPageUrl = "eureka-status-page";
    public const string HealthCheckUrl = "eureka-health-check";

    /// <summary>Eureka's metadata key for the zone, which Spring Cloud reads; Roster keeps it as the instance's zone.</summary>
    public const string Zone = "zone";
}

/// <summary>Eureka's instance statuses.</summary>
internal static class EurekaStatus
{
    public const string Up = "UP";
    public const string Down = "DOWN";
    public const string Starting = "STARTING";
    public const string OutOfService = "OUT_OF_SERVICE";
    public const string Unknown = "UNKNOWN";

    /// <summary>The status a client may report in its registration, in Eureka's spelling, or null when it is none of them.</summary>
    public static string? Parse(string? text) => text?.ToUpperInvariant() switch
    {
        null or "" or Up => Up,
        Down => Down,
        Starting => Starting,
        OutOfService => OutOfService,
        Unknown => Unknown,
        _ => null,
    };
}

/// <summary>
/// A Roster instance as Eureka clients see it. The application is the service's name in upper case (Eureka's
/// convention); <c>ipAddr</c> is the Roster address; the status is <c>OUT_OF_SERVICE</c> while an operator drains or
/// disables the instance (Eureka's status override), else what the client reported, <c>DOWN</c> while its Consul check
/// fails, or <c>UP</c>. Immutable.
/// </summary>
internal sealed class EurekaInstance
{
    private EurekaInstance(string service, InstanceRecord instance, string? actionType)
    {
        Service = service;
        Record = instance;
        ActionType = actionType;
        var registration = instance.Registration;
        var metadata = new List<KeyValuePair<string, string>>();
        string? reportedStatus = null, hostName = null, vip = null, secureVip = null, home = null, statusPage = null, health = null;
        int? securePort = null;
        var consulCritical = false;
        foreach (var (key, value) in registration.Metadata.Pairs())
        {
            switch (key)
            {
                case EurekaMetadata.Status: reportedStatus = value; break;
                case EurekaMetadata.HostName: hostName = value; break;
                case EurekaMetadata.VipAddress: vip = value; break;
                case EurekaMetadata.SecureVipAddress: secureVip = value; break;
                case EurekaMetadata.HomePageUrl: home = value; break;
                case EurekaMetadata.StatusPageUrl: statusPage = value; break;
                case EurekaMetadata.HealthCheckUrl: health = value; break;
                case EurekaMetadata.SecurePort:
                    securePort = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;
                    break;
                case ConsulAgentEndpoints.CheckStateKey: consulCritical = value == "critical"; break;
                default: metadata.Add(new(key, value)); break;
            }
        }

        if (registration.Zone.Length > 0)
        {
            metadata.Add(new(EurekaMetadata.Zone, registration.Zone));
        }

        Metadata = metadata;
        var overridden = instance.Operator.Drained || instance.Operator.Disabled;
        Status = overridden ? EurekaStatus.OutOfService : reportedStatus ?? (consulCritical ? EurekaStatus.Down : EurekaStatus.Up);
        OverriddenStatus = overridden ? EurekaStatus.OutOfService : EurekaStatus.Unknown;
        HostName = hostName ?? registration.Address;
        VipAddress = vip ?? service;
        SecureVipAddress = secureVip ?? service;
        var secure = registration.Scheme == "https";
        (Port, PortEnabled) = secure ? (80, false) : (registration.Port, true);
        (SecurePort, SecurePortEnabled) = secure ? (registration.Port, true) : securePort is { } both ? (both, true) : (443, false);
        var host = registration.Address.Contains(':', StringComparison.Ordinal) ? $"[{registration.Address}]" : HostName;
        HomePageUrl = home ?? $"{registration.Scheme}://{host}:{registration.Port}/";
        StatusPageUrl = statusPage ?? string.Empty;
        HealthCheckUrl = health ?? string.Empty;
    }

    public string Service { get; }

    public InstanceRecord Record { get; }

    /// <summary><c>ADDED</c>, <c>MODIFIED</c> or <c>DELETED</c> in a delta; null elsewhere.</summary>
    public string? ActionType { get; }

    public string InstanceId => Record.Id;

    /// <summary>Eureka's application name: the service's, in upper case.</summary>
    public string App => Service.ToUpperInvariant();

    public string HostName { get; }

    public string IpAddr => Record.Registration.Address;

    public string Status { get; }

    public string OverriddenStatus { get; }

    public int Port { get; }

    public bool PortEnabled { get; }

    public int SecurePort { get; }

    public bool SecurePortEnabled { get; }

    /// <summary>The lease's length; 0 for a persistent instance, which has none.</summary>
    public int DurationSeconds => Record.Registration.Kind == InstanceKind.Persistent ? 0 : Record.Registration.TtlSeconds;

    /// <summary>How often the client should renew: a third of the lease, as Eureka's defaults (30 s of 90 s).</summary>
    public int RenewalIntervalSeconds => Math.Max(1, DurationSeconds / 3);

    /// <summary>The metadata but Roster's entries for Eureka and Consul, with the zone as Spring Cloud reads it.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }

    public string HomePageUrl { get; }

    public string StatusPageUrl { get; }

    public string HealthCheckUrl { get; }

    public string VipAddress { get; }

    public string SecureVipAddress { get; }

    public static EurekaInstance From(string service, InstanceRecord instance, string? actionType = null) => new(service, instance, actionType);

    /// <summary>Whether the instance answers to <paramref name="vip"/> (Eureka's VIP addresses are comma-separated lists).</summary>
    public bool HasVip(string vip, bool secure) =>
        (secure ? SecureVipAddress : VipAddress).Split(',', StringSplitOptions.TrimEntries).Contains(vip, StringComparer.OrdinalIgnoreCase);
}
