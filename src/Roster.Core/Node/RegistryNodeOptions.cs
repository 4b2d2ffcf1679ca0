namespace Roster.Core.Node;

/// <summary>Settings of a registry node. Each default is what a production single node should use.</summary>
public sealed class RegistryNodeOptions
{
    /// <summary>Lease TTL when a registration names none. Default 10 s.</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Shortest TTL accepted. Default 2 s: shorter leases turn GC pauses into expiries.</summary>
    public TimeSpan MinTtl { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest TTL accepted. Default 1 h.</summary>
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Self-preservation: when more than this share of a namespace's leases would expire within one
    /// <see cref="DefaultTtl"/>, expiry pauses (explicit deregistrations still apply). Default 0.15.
    /// </summary>
    public double SelfPreservationThreshold { get; set; } = 0.15;

    /// <summary>
    /// Self-preservation never triggers for fewer expiries than this, so a small service can still lose
    /// a crashed instance (1 of 3 is 33 %, far above the share). Default 10.
    /// </summary>
    public int SelfPreservationMinimum { get; set; } = 10;

    /// <summary>How often leases are checked. Default 250 ms: expiry lands within TTL + this.</summary>
    public TimeSpan ExpiryScanInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Frames a watcher may have queued before it is disconnected as too slow. Default 8192.</summary>
    public int WatchQueueCapacity { get; set; } = 8192;

    /// <summary>Changes kept for watchers that resume from a revision. Default 50 000.</summary>
    public int WatchHistorySize { get; set; } = 50_000;

    /// <summary>Interval of keep-alive comments on watch streams. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A checkpoint is written after this many log entries, or twice the number of instances when that is
    /// larger (so checkpoints cost O(1) per change). Default 200 000.
    /// </summary>
    public long CheckpointInterval { get; set; } = 200_000;

    /// <summary>Longest a write waits to be durable and applied before it fails. Default 10 s.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest a request naming a revision or incarnation this node has not applied yet (but the log holds)
    /// waits for it before being answered from what the node has. Default 2 s.
    /// </summary>
    public TimeSpan CatchUpTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
