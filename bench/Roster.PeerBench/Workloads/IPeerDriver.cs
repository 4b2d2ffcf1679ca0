using System.Diagnostics;

namespace Roster.PeerBench.Workloads;

/// <summary>
/// What a workload asks of one registry, at the granularity of whole workload steps, so a client in
/// another process (ZooKeeper's Java agent) runs each step without a round trip per operation. The
/// same steps, in the same shape, for every peer:
/// <list type="bullet">
/// <item>a provider is one client process with its own connection; it registers its instances one after
/// another and keeps them alive (one lease per provider in etcd, one session in ZooKeeper, one batch
/// renewal per interval in Roster);</item>
/// <item>a watcher is one consumer with its own connection that fetches the full list and then watches
/// every service.</item>
/// </list>
/// </summary>
internal interface IPeerDriver : IAsyncDisposable
{
    /// <summary>
    /// All providers at once, each registering its instances one after another and then, with
    /// <paramref name="keepAlive"/>, keeping them alive every TTL/3 until the driver is disposed. Returns
    /// each registration's acknowledgement latency in microseconds.
    /// </summary>
    Task<double[]> RegisterAsync(int providers, int instancesPerProvider, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken);

    /// <summary>Instances that providers had to register again because the registry had dropped them.</summary>
    int LostRegistrations { get; }

    Task<long> CountInstancesAsync(CancellationToken cancellationToken);

    /// <summary>Opens watchers on every service; returns once each has its full list and its watch is live.</summary>
    Task OpenWatchersAsync(int watchers, CancellationToken cancellationToken);

    /// <summary>
    /// W3: one writer makes <paramref name="changes"/> changes at a fixed rate; the watchers' receipts are
    /// matched against the writer's acknowledgements. With <paramref name="fault"/> (W7), the fault is
    /// injected once its change is acknowledged, and the writes go on.
    /// </summary>
    Task<PropagationResult> RunChangesAsync(int changes, int perSecond, ChangeFault? fault, CancellationToken cancellationToken);

    /// <summary>The command line of a separate process that registers <paramref name="instances"/>, keeps them alive and prints <c>ready</c>.</summary>
    ProcessStartInfo HolderProcess(int instances, int ttlSeconds);

    /// <summary>Remembers "now" as the moment the holder is killed.</summary>
    Task MarkHolderKilledAsync(CancellationToken cancellationToken);

    /// <summary>Seconds from the mark until each watcher had seen all of the holder's instances deleted (NaN: not within the deadline).</summary>
    Task<double[]> WaitForHolderGoneAsync(int instances, TimeSpan deadline, CancellationToken cancellationToken);

    /// <summary>Delete events, summed over watchers, for instances whose provider never stopped: every one is spurious.</summary>
    Task<long> SpuriousDeletesAsync(CancellationToken cancellationToken);
}

/// <summary>W7's fault: <paramref name="Inject"/> runs once change <paramref name="AfterChange"/> is acknowledged.</summary>
internal sealed record ChangeFault(int AfterChange, Action Inject);

/// <summary>
/// W3's outcome: every receipt's delay after the write's acknowledgement, what each watcher never received,
/// the longest the writer waited for an acknowledgement, and with a fault, for each watcher, the time from
/// the fault to its first receipt of a change written after it (NaN: none received).
/// </summary>
internal sealed record PropagationResult(double[] LatenciesMs, int[] MissedPerWatcher, int Changes, double LongestWriteMs, double[] RecoveryMs);
