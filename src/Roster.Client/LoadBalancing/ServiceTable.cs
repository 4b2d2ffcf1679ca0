namespace Roster.Client.LoadBalancing;

/// <summary>
/// One list of a service's endpoints with the balancer's statistics aligned to it, and the hash ring
/// for consistent hashing (built on first use). Immutable apart from the statistics themselves;
/// replaced whole when the list changes, carrying each endpoint's statistics over by id and incarnation.
/// </summary>
internal sealed class ServiceTable
{
    private const int PointsPerEndpoint = 64;
    private (uint Hash, int Index)[]? _ring;
    private readonly string?[] _origins;

    public ServiceTable(ServiceEndpoints source, ServiceTable? previous)
    {
        Source = source;
        var endpoints = source.Endpoints;
        Stats = new EndpointStats[endpoints.Length];
        _origins = new string?[endpoints.Length];
        Dictionary<string, EndpointStats>? carried = null;
        if (previous is not null)
        {
            carried = new Dictionary<string, EndpointStats>(previous.Stats.Length, StringComparer.Ordinal);
            foreach (var stats in previous.Stats)
            {
                carried[stats.Id] = stats;
            }
        }

        for (var i = 0; i < endpoints.Length; i++)
        {
            var endpoint = endpoints[i];
            Stats[i] = carried is not null && carried.TryGetValue(endpoint.Id, out var kept) && kept.Incarnation == endpoint.Incarnation
                ? kept
                : new EndpointStats(endpoint.Id, endpoint.Incarnation);
        }
    }

    public ServiceEndpoints Source { get; }

    public EndpointStats[] Stats { get; }

    /// <summary>Points on a ring of 2³² for every endpoint, sorted: a key belongs to the first point at or after its hash.</summary>
    public (uint Hash, int Index)[] Ring => Volatile.Read(ref _ring) ?? BuildRing();

    /// <summary>
    /// "scheme://address:port" of the endpoint at <paramref name="index"/>, built on first use and kept with
    /// this list (an IPv6 address in brackets), so each request only appends its path.
    /// </summary>
    public string OriginOf(int index)
    {
        if (Volatile.Read(ref _origins[index]) is { } origin)
        {
            return origin;
        }

        var endpoint = Source.Endpoints[index];
        var address = endpoint.Address.Contains(':', StringComparison.Ordinal) ? $"[{endpoint.Address}]" : endpoint.Address;
        origin = $"{endpoint.Scheme}://{address}:{endpoint.Port}";
        Volatile.Write(ref _origins[index], origin);
        return origin;
    }

    public static uint Hash(ReadOnlySpan<char> text, uint seed = 2166136261)
    {
        var hash = seed;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        // FNV's low bits mix poorly for short keys; a final avalanche spreads them over the ring.
        hash ^= hash >> 16;
        hash *= 0x85ebca6b;
        hash ^= hash >> 13;
        hash *= 0xc2b2ae35;
        return hash ^ (hash >> 16);
    }

    private (uint Hash, int Index)[] BuildRing()
    {
        var endpoints = Source.Endpoints;
        var ring = new (uint Hash, int Index)[endpoints.Length * PointsPerEndpoint];
        for (var i = 0; i < endpoints.Length; i++)
        {
            var idHash = Hash(endpoints[i].Id);
            for (var point = 0; point < PointsPerEndpoint; point++)
            {
                ring[(i * PointsPerEndpoint) + point] = (Hash([(char)point], idHash), i);
            }
        }

        Array.Sort(ring, static (a, b) => a.Hash.CompareTo(b.Hash));

        // Two threads may build it at once; both build the same ring, and either may be kept.
        Volatile.Write(ref _ring, ring);
        return ring;
    }
}
