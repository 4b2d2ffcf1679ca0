namespace Roster.Client.LoadBalancing;

/// <summary>
/// What the balancer knows about one endpoint: requests in flight, recent latency, failures, and until
/// when it is set aside. Updated with interlocked operations by every request thread; a value read a
/// little stale only makes one choice a little less good.
/// </summary>
internal sealed class EndpointStats
{
    public int InFlight;
    public long Sent;
    public long LatencyTicks;
    public long LatencyRecordedAt;
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

    /// <summary>
    /// The latency estimate at <paramref name="now"/>: it halves for every <paramref name="halfLife"/> since
    /// its last sample. An endpoint judged slow once (a process warming up) would otherwise never be chosen
    /// again by power of two choices, and so never get the chance to show it became fast.
    /// </summary>
    public double LatencyAt(long now, long halfLife)
    {
        var latency = Volatile.Read(ref LatencyTicks);
        var since = now - Volatile.Read(ref LatencyRecordedAt);
        if (since <= 0 || latency == 0)
        {
            return latency;
        }

        // Halved once per whole half-life, then linearly within the current one: close to exponential decay,
        // without the floating-point power function, which costs more than the rest of a choice.
        var halvings = since / halfLife;
        if (halvings >= 62)
        {
            return 0;
        }

        var whole = latency >> (int)halvings;
        var fraction = (since - (halvings * halfLife)) / (double)halfLife;
        return whole - (whole * 0.5 * fraction);
    }

    public bool IsEjectedAt(long now) => Volatile.Read(ref EjectedUntil) > now;

    public bool IsAvailableAt(long now) => Volatile.Read(ref EjectedUntil) <= now && Volatile.Read(ref SkipUntil) <= now;

    /// <summary>
    /// Adds a sample to an exponentially weighted moving average in which each sample counts for a fifth,
    /// starting from the estimate as decayed at <paramref name="now"/> (see <see cref="LatencyAt"/>).
    /// </summary>
    public void RecordLatency(long ticks, long now, long halfLife)
    {
        while (true)
        {
            var stored = Volatile.Read(ref LatencyTicks);
            var current = (long)LatencyAt(now, halfLife);
            var next = current == 0 ? ticks : current + ((ticks - current) / 5);
            if (Interlocked.CompareExchange(ref LatencyTicks, next, stored) == stored)
            {
                Volatile.Write(ref LatencyRecordedAt, now);
                return;
            }
        }
    }
}
