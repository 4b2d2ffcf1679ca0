using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Roster.Client.Discovery;

/// <summary>
/// The discovery settings in force for a host, and its <see cref="RosterLoadBalancer"/>. A configuration
/// reload replaces the settings as one immutable snapshot and reconfigures the balancer, without a lock:
/// requests in flight keep the snapshot they started with. A reload that changes nothing changes nothing,
/// and one whose values cannot work is refused with a warning, keeping the last good settings.
/// </summary>
internal sealed partial class DiscoverySettings : IDisposable
{
    private readonly IOptionsMonitor<RosterDiscoveryOptions> _monitor;
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private volatile RosterDiscoveryOptions _current;

    public DiscoverySettings(IOptionsMonitor<RosterDiscoveryOptions> monitor, TimeProvider? time, ILogger logger)
    {
        _monitor = monitor;
        _logger = logger;
        _current = monitor.CurrentValue;
        Balancer = new RosterLoadBalancer(_current.LoadBalancing, time); // validates the load-balancing part
        _current.Validate();
        _subscription = monitor.OnChange(_ => Reload());
    }

    /// <summary>The latest valid settings.</summary>
    public RosterDiscoveryOptions Current => _current;

    public RosterLoadBalancer Balancer { get; }

    /// <summary>Called with the new sources when a reload changes <see cref="RosterDiscoveryOptions.Sources"/>.</summary>
    public event Action<RosterDiscoveryOptions>? SourcesChanged;

    /// <summary>
    /// Takes the monitor's current value when it is valid. Reloads may call this on several threads at
    /// once: each one that finds a newer value in force after writing its own writes again, so the
    /// newest value is the one left, without a lock.
    /// </summary>
    internal void Reload()
    {
        while (true)
        {
            var next = _monitor.CurrentValue;
            try
            {
                next.Validate();
            }
            catch (ArgumentException e)
            {
                LogReloadRefused(_logger, e.Message);
                return;
            }

            var previous = _current;
            _current = next;
            if (Balancer.Reconfigure(next.LoadBalancing) | previous.MaxAttemptsPerRequest != next.MaxAttemptsPerRequest)
            {
                LogLoadBalancingReloaded(_logger, next.LoadBalancing.Policy, next.MaxAttemptsPerRequest);
            }

            var (before, after) = (previous.ConfiguredSources(), next.ConfiguredSources());
            if (before.Count != after.Count || before.Any(s => !after.TryGetValue(s.Key, out var target) || target != s.Value))
            {
                SourcesChanged?.Invoke(next);
            }

            if (previous.Namespace != next.Namespace || previous.CacheDirectory != next.CacheDirectory)
            {
                LogRestartNeeded(_logger);
            }

            if (ReferenceEquals(_monitor.CurrentValue, next))
            {
                return;
            }
        }
    }

    public void Dispose() => _subscription?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster discovery settings were reloaded with values that cannot work; the previous ones stay in force: {Reason}")]
    private static partial void LogReloadRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Roster load balancing reconfigured: policy {Policy}, at most {MaxAttempts} attempts per request")]
    private static partial void LogLoadBalancingReloaded(ILogger logger, LoadBalancingPolicy policy, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster discovery's namespace or cache directory changed in configuration; it takes effect when the process restarts")]
    private static partial void LogRestartNeeded(ILogger logger);
}
