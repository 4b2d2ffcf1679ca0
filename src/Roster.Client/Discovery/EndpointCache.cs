using System.Collections.Concurrent;

namespace Roster.Client.Discovery;

/// <summary>
/// The consumer's lists, one per service. Readers take the current immutable list with one dictionary
/// lookup and one volatile read, never a lock and never an allocation. Writers swap a whole list with
/// compare-and-swap, so a stale writer can never overwrite a newer list, and they refuse to replace a
/// non-empty list with an empty one unless the registry confirmed that the service is empty: an
/// outage, a half-started registry or a bug must not empty a consumer's list (the seeds' lesson).
/// </summary>
internal sealed class EndpointCache
{
    private readonly ConcurrentDictionary<ServiceName, Slot> _services = new();

    public bool TryGet(string @namespace, string service, out ServiceEndpoints endpoints)
    {
        if (_services.TryGetValue(new ServiceName(@namespace, service), out var slot) && Volatile.Read(ref slot.Current) is { } current)
        {
            endpoints = current;
            return true;
        }

        endpoints = null!;
        return false;
    }

    /// <summary>Every list held, in no particular order.</summary>
    public List<ServiceEndpoints> All()
    {
        var all = new List<ServiceEndpoints>(_services.Count);
        foreach (var slot in _services.Values)
        {
            if (Volatile.Read(ref slot.Current) is { } current)
            {
                all.Add(current);
            }
        }

        return all;
    }

    /// <summary>
    /// Replaces the service's list with <paramref name="next"/> unless the current one is newer (a higher
    /// sequence) or <paramref name="next"/> would empty a non-empty list without <paramref name="confirmedEmpty"/>.
    /// With <paramref name="anySequence"/> a lower sequence is taken too: the registry's identity changed
    /// (its sequences restarted), or the current list came from disk.
    /// </summary>
    public ReplaceOutcome Replace(ServiceEndpoints next, bool confirmedEmpty, bool anySequence = false)
    {
        ArgumentNullException.ThrowIfNull(next);
        var slot = _services.GetOrAdd(new ServiceName(next.Namespace, next.Service), static _ => new Slot());
        while (true)
        {
            var current = Volatile.Read(ref slot.Current);
            if (current is not null && current.Sequence > next.Sequence && !anySequence)
            {
                return ReplaceOutcome.Older;
            }

            if (current is { Endpoints.IsEmpty: false } && next.Endpoints.IsEmpty && !confirmedEmpty)
            {
                return ReplaceOutcome.EmptyRefused;
            }

            if (Interlocked.CompareExchange(ref slot.Current, next, current) == current)
            {
                return ReplaceOutcome.Replaced;
            }
        }
    }

    /// <summary>
    /// Keeps every list of the registry but marks it as served from the cache: the registry cannot be reached since
    /// <paramref name="lostAt"/>, from when the lists' age counts. Lists of other sources are left as they are.
    /// </summary>
    public void MarkAllCached(DateTimeOffset lostAt)
    {
        foreach (var slot in _services.Values)
        {
            while (Volatile.Read(ref slot.Current) is { Source: EndpointSource.Live, Origin: ServiceEndpoints.RegistryOrigin } current
                && Interlocked.CompareExchange(ref slot.Current, current with { Source = EndpointSource.Cached, UpdatedAt = lostAt }, current) != current)
            {
            }
        }
    }

    /// <summary>Marks the registry's lists kept through an outage as current again: the registry's watch is back.</summary>
    public void MarkAllLive(DateTimeOffset now)
    {
        foreach (var slot in _services.Values)
        {
            while (Volatile.Read(ref slot.Current) is { Source: EndpointSource.Cached, Origin: ServiceEndpoints.RegistryOrigin } current
                && Interlocked.CompareExchange(ref slot.Current, current with { Source = EndpointSource.Live, UpdatedAt = now }, current) != current)
            {
            }
        }
    }

    /// <summary>Keeps the service's list but marks it as served from the cache: its source cannot be reached since <paramref name="lostAt"/>.</summary>
    public void MarkCached(string @namespace, string service, DateTimeOffset lostAt)
    {
        if (_services.TryGetValue(new ServiceName(@namespace, service), out var slot))
        {
            while (Volatile.Read(ref slot.Current) is { Source: EndpointSource.Live } current
                && Interlocked.CompareExchange(ref slot.Current, current with { Source = EndpointSource.Cached, UpdatedAt = lostAt }, current) != current)
            {
            }
        }
    }

    private readonly record struct ServiceName(string Namespace, string Service);

    private sealed class Slot
    {
        // Swapped with Interlocked.CompareExchange, read with Volatile.Read: a reader sees a whole list or the previous one.
        public ServiceEndpoints? Current;
    }
}
