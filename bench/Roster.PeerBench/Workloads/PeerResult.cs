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
