namespace Roster.Client.LoadBalancing;

/// <summary>
/// What the balancer knows about one endpoint: requests in flight, recent latency, failures, and until
/// when it is set aside. Updated with interlocked operations by every request thread; a value read a
/// little stale only makes one choice a little less good.
/// </summary>
internal sealed class EndpointStats
{
    public int InFlight;
    public long LatencyTicks;
    public int ConsecutiveFailures;
    public int Ejections;

    // Timestamps in the time provider's GetTimestamp() units; 0 = not set aside.
    public long EjectedUntil;
    public long SkipUntil;

    public EndpointStats(string id, long incarnation)
    {
        Id = id;
        Incarnation = incarnation;
    }

    public string Id { get; }

    public long Incarnation { get; }

    public bool IsEjectedAt(long now) => Volatile.Read(ref EjectedUntil) > now;

    public bool IsAvailableAt(long now) => Volatile.Read(ref EjectedUntil) <= now && Volatile.Read(ref SkipUntil) <= now;

    /// <summary>An exponentially weighted moving average: each sample counts for a fifth.</summary>
    public void RecordLatency(long ticks)
    {
        while (true)
        {
            var current = Volatile.Read(ref LatencyTicks);
            var next = current == 0 ? ticks : current + ((ticks - current) / 5);
            if (Interlocked.CompareExchange(ref LatencyTicks, next, current) == current)
            {
                return;
            }
        }
    }
}
