using System.Buffers;
using System.Collections.Concurrent;
using Roster.Client.LoadBalancing;

namespace Roster.Client;

/// <summary>
/// Chooses an endpoint for each request and learns from how requests end. Eligible endpoints have a
/// weight above 0, are not drained, and are not set aside (ejected after consecutive failures, or
/// skipped for a moment after a rejection); endpoints in the local zone are preferred while any is
/// eligible. Choosing takes no lock and allocates nothing. Thread-safe; share one per process.
/// </summary>
public sealed class RosterLoadBalancer
{
    private const int StackLimit = 256;
    private readonly TimeProvider _time;
    private LoadBalancerOptions _options; // a private copy, replaced whole by Reconfigure, never changed in place
    private readonly ConcurrentDictionary<(string Namespace, string Service), ServiceTable> _tables = new();
    private int _roundRobin;

    /// <summary>Creates a balancer.</summary>
    /// <param name="options">The policy, zone and ejection settings; validated here. Defaults when null.</param>
    /// <param name="time">The clock for latency and ejection; the system's when null.</param>
    public RosterLoadBalancer(LoadBalancerOptions? options = null, TimeProvider? time = null)
    {
        options ??= new LoadBalancerOptions();
        options.Validate();
        _options = options.Copy();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The policy in use, read without copying the settings.</summary>
    internal LoadBalancingPolicy Policy => Volatile.Read(ref _options).Policy;

    /// <summary>A copy of the settings in use.</summary>
    public LoadBalancerOptions Options => Volatile.Read(ref _options).Copy();

    /// <summary>
    /// Uses <paramref name="options"/> from the next choice on; requests already under way are unaffected.
    /// No lock: the settings are swapped whole. Returns false, changing nothing, when they equal the current ones.
    /// </summary>
    /// <exception cref="ArgumentException">The options cannot work; the current ones stay.</exception>
    public bool Reconfigure(LoadBalancerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var next = options.Copy();
        while (true)
        {
            var current = Volatile.Read(ref _options);
            if (current.SameAs(next))
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _options, next, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// What this balancer knows of each endpoint of <paramref name="endpoints"/>, in the list's order: for
    /// diagnostics (it allocates; choosing never does).
    /// </summary>
    public IReadOnlyList<EndpointState> Describe(ServiceEndpoints endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var table = TableFor(endpoints);
        var now = _time.GetTimestamp();
        var states = new EndpointState[table.Stats.Length];
        for (var i = 0; i < states.Length; i++)
        {
            var stats = table.Stats[i];
            states[i] = new EndpointState(
                endpoints.Endpoints[i],
                Volatile.Read(ref stats.InFlight),
                Volatile.Read(ref stats.Sent),
                Volatile.Read(ref stats.ConsecutiveFailures),
                Remaining(Volatile.Read(ref stats.EjectedUntil)),
                Remaining(Volatile.Read(ref stats.SkipUntil)),
                TimeSpan.FromSeconds(stats.LatencyAt(now, LatencyHalfLife()) / _time.TimestampFrequency));
        }

        return states;

        TimeSpan Remaining(long until) => until > now ? TimeSpan.FromSeconds((until - now) / (double)_time.TimestampFrequency) : TimeSpan.Zero;
    }

    /// <summary>
    /// Chooses an endpoint of <paramref name="endpoints"/>; false when none can take a request (the list
    /// is empty, or every endpoint has weight 0 or is drained).
    /// </summary>
    /// <param name="endpoints">The service's current list.</param>
    /// <param name="lease">The choice; complete it when the request ends.</param>
    /// <param name="key">The request key for <see cref="LoadBalancingPolicy.ConsistentHash"/>; ignored by the other policies.</param>
    public bool TryPick(ServiceEndpoints endpoints, out EndpointLease lease, string? key = null) => TryPick(endpoints, key, excluded: 0, out lease);

    /// <summary>As <see cref="TryPick(ServiceEndpoints, out EndpointLease, string?)"/>, skipping the endpoints at the positions set in <paramref name="excluded"/> (already tried).</summary>
    internal bool TryPick(ServiceEndpoints endpoints, string? key, ulong excluded, out EndpointLease lease)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = Volatile.Read(ref _options);
        var table = TableFor(endpoints);
        var list = endpoints.Endpoints;
        var now = _time.GetTimestamp();
        int[]? rented = null;
        var eligible = list.Length <= StackLimit ? stackalloc int[StackLimit] : (rented = ArrayPool<int>.Shared.Rent(list.Length));
        try
        {
            var count = Eligible(table, excluded, now, options.LocalZone, honourSetAside: true, eligible);
            if (count == 0)
            {
                // Every endpoint that could take the request is set aside: trying one is better than failing outright.
                count = Eligible(table, excluded, now, options.LocalZone, honourSetAside: false, eligible);
            }

            if (count == 0)
            {
                lease = default;
                return false;
            }

            var index = options.Policy switch
            {
                LoadBalancingPolicy.RoundRobin => eligible[(int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)count)],
                LoadBalancingPolicy.WeightedRandom => WeightedRandom(list, eligible[..count]),
                LoadBalancingPolicy.ConsistentHash => ConsistentHash(table, key, eligible[..count]),
                _ => PowerOfTwo(table, eligible[..count], now, LatencyHalfLife()),
            };

            var stats = table.Stats[index];
            Interlocked.Increment(ref stats.InFlight);
            Interlocked.Increment(ref stats.Sent);
            lease = new EndpointLease(this, list[index], table, index, now);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The requests in flight to the endpoints of <paramref name="endpoints"/>, as this balancer counts them.</summary>
    internal int RequestsInFlight(ServiceEndpoints endpoints) => TableFor(endpoints).Stats.Sum(s => Volatile.Read(ref s.InFlight));

    internal void Complete(ServiceTable table, int index, long started, RequestOutcome outcome, TimeSpan? retryAfter)
    {
        var options = Volatile.Read(ref _options);
        var stats = table.Stats[index];
        Interlocked.Decrement(ref stats.InFlight);
        var now = _time.GetTimestamp();
        switch (outcome)
        {
            case RequestOutcome.Success:
                stats.RecordLatency(now - started, now, LatencyHalfLife());
                Volatile.Write(ref stats.ConsecutiveFailures, 0);
                if (Volatile.Read(ref stats.Ejections) != 0 && !stats.IsEjectedAt(now))
                {
                    // Re-admitted and answering: its next ejection, if any, starts from the base time again.
                    Volatile.Write(ref stats.Ejections, 0);
                }

                break;
            case RequestOutcome.Rejected:
                var skip = retryAfter is { } asked && asked > TimeSpan.Zero ? Min(asked, options.MaxEjectionTime) : options.RejectionBackoff;
                Volatile.Write(ref stats.SkipUntil, now + ToTimestamp(skip));
                break;
            default:
                if (Interlocked.Increment(ref stats.ConsecutiveFailures) >= options.ConsecutiveFailuresToEject)
                {
                    TryEject(options, table, stats, now);
                }

                break;
        }
    }

    private void TryEject(LoadBalancerOptions options, ServiceTable table, EndpointStats stats, long now)
    {
        if (stats.IsEjectedAt(now))
        {
            return;
        }

        var ejected = 0;
        foreach (var other in table.Stats)
        {
            ejected += other.IsEjectedAt(now) ? 1 : 0;
        }

        if (ejected + 1 > (int)Math.Floor(options.MaxEjectedShare * table.Stats.Length))
        {
            // At the cap: keep sending to it rather than let ejection empty the service.
            return;
        }

        var times = Interlocked.Increment(ref stats.Ejections);
        Diagnostics.RosterClientTelemetry.Ejections.Add(1, new KeyValuePair<string, object?>("roster.service", table.Source.Service));
        var duration = Min(TimeSpan.FromTicks(options.BaseEjectionTime.Ticks << Math.Min(times - 1, 16)), options.MaxEjectionTime);
        Volatile.Write(ref stats.EjectedUntil, now + ToTimestamp(duration));
        Volatile.Write(ref stats.ConsecutiveFailures, 0);
    }

    private ServiceTable TableFor(ServiceEndpoints endpoints)
    {
        var key = (endpoints.Namespace, endpoints.Service);
        while (true)
        {
            if (_tables.TryGetValue(key, out var table))
            {
                if (ReferenceEquals(table.Source, endpoints))
                {
                    return table;
                }

                var next = new ServiceTable(endpoints, table);
                if (endpoints.Sequence < table.Source.Sequence && endpoints.Source == table.Source.Source)
                {
                    // An older list from a caller that read it before a change: use it once, keep the newer table.
                    return next;
                }

                if (_tables.TryUpdate(key, next, table))
                {
                    return next;
                }
            }
            else
            {
                var first = new ServiceTable(endpoints, previous: null);
                if (_tables.TryAdd(key, first))
                {
                    return first;
                }
            }
        }
    }

    private static int Eligible(ServiceTable table, ulong excluded, long now, string? zone, bool honourSetAside, Span<int> eligible)
    {
        var list = table.Source.Endpoints;
        var count = 0;
        var inZone = 0;
        for (var i = 0; i < list.Length; i++)
        {
            var endpoint = list[i];
            if ((i < 64 && (excluded & (1UL << i)) != 0) || endpoint.Weight <= 0 || endpoint.Drained
                || (honourSetAside && !table.Stats[i].IsAvailableAt(now)))
            {
                continue;
            }

            // Endpoints in the local zone are gathered at the front.
            if (zone is { Length: > 0 } && endpoint.Zone == zone)
            {
                eligible[count] = eligible[inZone];
                eligible[inZone++] = i;
            }
            else
            {
                eligible[count] = i;
            }

            count++;
        }

        return inZone > 0 ? inZone : count;
    }

    private static int WeightedRandom(System.Collections.Immutable.ImmutableArray<InstanceEndpoint> list, ReadOnlySpan<int> eligible)
    {
        long total = 0;
        foreach (var i in eligible)
        {
            total += list[i].Weight;
        }

        var point = Random.Shared.NextInt64(total);
        foreach (var i in eligible)
        {
            point -= list[i].Weight;
            if (point < 0)
            {
                return i;
            }
        }

        return eligible[^1];
    }

    private static int PowerOfTwo(ServiceTable table, ReadOnlySpan<int> eligible, long now, long halfLife)
    {
        if (eligible.Length == 1)
        {
            return eligible[0];
        }

        var a = Random.Shared.Next(eligible.Length);
        var b = Random.Shared.Next(eligible.Length - 1);
        b += b >= a ? 1 : 0;
        return Load(table.Stats[eligible[a]]) <= Load(table.Stats[eligible[b]]) ? eligible[a] : eligible[b];

        // Requests in flight, weighted by recent latency: a slow endpoint counts as busier.
        double Load(EndpointStats stats) => (Volatile.Read(ref stats.InFlight) + 1) * Math.Max(stats.LatencyAt(now, halfLife), 1);
    }

    private static int ConsistentHash(ServiceTable table, string? key, ReadOnlySpan<int> eligible)
    {
        if (key is null)
        {
            return eligible[Random.Shared.Next(eligible.Length)];
        }

        var ring = table.Ring;
        var hash = ServiceTable.Hash(key);
        int low = 0, high = ring.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (ring[middle].Hash < hash)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        // Walk the ring from the key's point to the first endpoint that may take the request.
        for (var step = 0; step < ring.Length; step++)
        {
            var candidate = ring[(low + step) % ring.Length].Index;
            if (eligible.Contains(candidate))
            {
                return candidate;
            }
        }

        return eligible[0];
    }

    /// <summary>How fast a latency estimate fades without new samples: it halves every second.</summary>
    private long LatencyHalfLife() => _time.TimestampFrequency;

    private long ToTimestamp(TimeSpan duration) => (long)(duration.TotalSeconds * _time.TimestampFrequency);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
