namespace Roster.PeerBench.Workloads;

/// <summary>One peer's figures from one run. Latencies are milliseconds, CPU is server CPU from /proc.</summary>
internal sealed record PeerResult
{
    public required string Peer { get; init; }
    public required int Run { get; init; }
    public RegistrationResult? W1 { get; set; }
    public KeepAliveResult? W2 { get; set; }
    public WatchResult? W3 { get; set; }
    public MemoryResult? W4 { get; set; }
    public FailureResult? W5 { get; set; }
    public RestartResult? W6 { get; set; }
    public MemberFailureResult? W7 { get; set; }
    public string? Error { get; set; }
}

internal sealed record RegistrationResult(
    int Registrations, double Seconds, double PerSecond, double P50Ms, double P99Ms, double ServerCpuUsPerRegistration, double[] LatencyPercentilesMs);

internal sealed record KeepAliveResult(double Seconds, double ServerCpuCores, long InstancesExpected, long InstancesFound, int Reregistered);

internal sealed record WatchResult(
    int Watchers, int Changes, double P50Ms, double P99Ms, double MaxMs, int MissedTotal, int MissedWorstWatcher,
    double ServerCpuUsPerDeliveredEvent, double[] LatencyPercentilesMs);

internal sealed record MemoryResult(int Instances, long RssBeforeBytes, long RssAfterBytes, double RssBytesPerInstance, double RegistrationsPerSecond);

internal sealed record FailureResult(int Instances, double MedianSeconds, double MaxSeconds, int WatchersNotSeeingAll);

internal sealed record RestartResult(double ReadySeconds, long SpuriousDeletes, long InstancesExpected, long InstancesAfter);

/// <summary>
/// W7 (cluster): one member SIGKILLed in the middle of W3's changes. Recovery: per watcher, from the kill to its
/// first receipt of a change written after it. Leases owned again: Roster only (etcd's leases and ZooKeeper's
/// sessions belong to the whole cluster), from the kill until the surviving nodes own every provider's lease.
/// </summary>
internal sealed record MemberFailureResult(
    int KilledMember, int Changes, double LongestWriteMs, double RecoveryMedianMs, double RecoveryMaxMs, int WatchersNotRecovered,
    double P99Ms, int MissedTotal, double LeasesOwnedAgainMs, long SpuriousDeletes, long InstancesExpected, long InstancesAfter);
