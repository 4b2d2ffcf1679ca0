using Roster.Client.Sources;

namespace Roster.Client;

/// <summary>How a consumer discovers services. Every default is stated on its property.</summary>
public sealed class RosterDiscoveryOptions
{
    /// <summary>The namespace whose services are discovered. Required.</summary>
    public string Namespace { get; set; } = "";

    /// <summary>
    /// A directory where each service's last list is saved, so a process started while the registry
    /// cannot be reached can still call its providers. Default: none (nothing is written).
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// How long a caller waits for the registry before a service's list is taken from the cache directory
    /// instead. Default: 1 s.
    /// </summary>
    public TimeSpan DiskFallbackDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Keep a non-empty list when the registry offers an empty one it has not confirmed (a lower or equal
    /// sequence, or a registry whose identity changed), until <see cref="EmptyConfirmationPeriod"/> has
    /// passed with the registry still saying empty. Default: on.
    /// </summary>
    public bool EmptyListGuard { get; set; } = true;

    /// <summary>How long an unconfirmed empty list must persist before it is believed. Default: 30 s (three default TTLs).</summary>
    public TimeSpan EmptyConfirmationPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often every watched service's digest is compared with the registry's and repaired when they differ. Default: 30 s.</summary>
    public TimeSpan DigestCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A watch stream that delivers nothing (not even the registry's keep-alive, sent every 15 s) for this
    /// long is taken as dead and reopened. Default: 45 s.
    /// </summary>
    public TimeSpan WatchIdleTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long <see cref="RosterDiscovery.GetEndpointsAsync"/> waits for a service's first list. Default: 10 s.</summary>
    public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How <c>HttpClient</c>s with <c>AddRosterDiscovery()</c> choose endpoints and set failing ones aside.</summary>
    public LoadBalancerOptions LoadBalancing { get; } = new();

    /// <summary>
    /// The most endpoints one HTTP request is sent to: the first, then others after a rejection, a refused
    /// connection, or (for idempotent methods) a failure. Default: 3.
    /// </summary>
    public int MaxAttemptsPerRequest { get; set; } = 3;

    /// <summary>
    /// Services found somewhere other than the Roster registry, by name: <c>static://10.0.0.1:8080,10.0.0.2:8080</c> (a
    /// fixed list, go-zero's syntax; <c>[v6]:port</c> for IPv6), or a target one of the <see cref="SourceProviders"/> reads
    /// (<c>etcd://10.0.0.1:2379,10.0.0.2:2379/user.rpc</c> with Roster.Client.Etcd). A service with no entry is discovered through the
    /// registry, as does one whose target is empty. Each entry is checked at start, and a bad one stops the process
    /// naming it; a reload follows the configuration (a reload with a bad entry is refused whole). Default: none.
    /// </summary>
    public IDictionary<string, string> Sources { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// What reads the targets of <see cref="Sources"/> other than <c>static://</c>, by scheme: etcd's from Roster.Client.Etcd
    /// (<c>AddEtcdSources()</c>), or one of your own. Not read from configuration. Default: none.
    /// </summary>
    public IList<IEndpointSourceProvider> SourceProviders { get; } = [];

    /// <summary>The provider that reads <paramref name="target"/>, or null for a static list (or a target no provider reads).</summary>
    internal IEndpointSourceProvider? ProviderFor(string target)
    {
        var end = target.IndexOf("://", StringComparison.Ordinal);
        return end > 0 ? SourceProviders.FirstOrDefault(p => string.Equals(p.Scheme, target[..end], StringComparison.OrdinalIgnoreCase)) : null;
    }

    /// <summary>The entries of <see cref="Sources"/> that name a source, each with the provider that reads it (none for a static list).</summary>
    internal Dictionary<string, Discovery.ConfiguredSource> ResolvedSources() =>
        ConfiguredSources().ToDictionary(s => s.Key, s => new Discovery.ConfiguredSource(s.Value, ProviderFor(s.Value)), StringComparer.Ordinal);

    /// <summary>The entries of <see cref="Sources"/> that name a source: an empty one (how configuration removes an
    /// entry on reload) leaves the service to the registry.</summary>
    internal Dictionary<string, string> ConfiguredSources() =>
        Sources.Where(s => !string.IsNullOrWhiteSpace(s.Value)).ToDictionary(s => s.Key, s => s.Value.Trim(), StringComparer.Ordinal);

    /// <summary>Throws when the options cannot work, naming the setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Namespace))
        {
            throw new ArgumentException("RosterDiscoveryOptions.Namespace is required.", nameof(Namespace));
        }

        LoadBalancing.Validate();
        foreach (var (service, target) in ConfiguredSources())
        {
            if (!RosterDiscovery.IsServiceName(service))
            {
                throw new ArgumentException($"RosterDiscoveryOptions.Sources: '{service}' is not a service name: lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.", nameof(Sources));
            }

            var error = target.StartsWith(Discovery.StaticSource.Scheme, StringComparison.Ordinal) || ProviderFor(target) is not { } provider
                ? Discovery.StaticSource.Check(target, SourceProviders)
                : provider.Check(target);
            if (error is not null)
            {
                throw new ArgumentException($"RosterDiscoveryOptions.Sources:{service}: {error}", nameof(Sources));
            }
        }

        if (MaxAttemptsPerRequest < 1)
        {
            throw new ArgumentException("RosterDiscoveryOptions.MaxAttemptsPerRequest must be at least 1.", nameof(MaxAttemptsPerRequest));
        }

        if (DiskFallbackDelay < TimeSpan.Zero || EmptyConfirmationPeriod < TimeSpan.Zero || DigestCheckInterval <= TimeSpan.Zero
            || WatchIdleTimeout <= TimeSpan.Zero || ResolveTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                "RosterDiscoveryOptions: DigestCheckInterval, WatchIdleTimeout and ResolveTimeout must be positive; DiskFallbackDelay and EmptyConfirmationPeriod must not be negative.");
        }
    }
}
