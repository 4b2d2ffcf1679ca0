using System.Collections.Concurrent;
using Roster.Core.Model;

namespace Roster.Core.Leases;

public enum RenewStatus : byte
{
    Ok,

    /// <summary>No such instance: the client registers again.</summary>
    Unknown,

    /// <summary>The instance was registered again since; this incarnation is over.</summary>
    StaleIncarnation,
}

/// <summary>
/// The leases this node owns, by incarnation (unique in a registry, so a renewal is one lookup).
/// <para>
/// Ownership: entries are added and removed only by the applier; renewals, from any request thread,
/// only move a lease's expiry forward with an atomic write. Renewals never enter the change log.
/// </para>
/// </summary>
public sealed class LeaseTable(TimeProvider time)
{
    private readonly ConcurrentDictionary<long, Lease> _leases = new();

    public int Count => _leases.Count;

    /// <summary>Creates or refreshes the lease of <paramref name="instance"/>, due one TTL from now.</summary>
    internal void Put(InstanceKey key, InstanceRecord instance)
    {
        var ttl = TimeSpan.FromSeconds(instance.Registration.TtlSeconds);
        var lease = _leases.GetOrAdd(instance.Incarnation, static (incarnation, arg) => new Lease(arg.key, incarnation, arg.ttl, arg.frequency), (key, ttl, frequency: time.TimestampFrequency));
        lease.Ttl = ttl;
        lease.Renew(time.GetTimestamp());
    }

    internal void Remove(long incarnation) => _leases.TryRemove(incarnation, out _);

    /// <summary>Moves the lease's expiry one TTL ahead when <paramref name="incarnation"/> is the one held for <paramref name="key"/>.</summary>
    public bool TryRenew(in InstanceKey key, long incarnation)
    {
        if (_leases.TryGetValue(incarnation, out var lease) && lease.Key == key)
        {
            lease.Renew(time.GetTimestamp());
            return true;
        }

        return false;
    }

    /// <summary>Leases due now that were not yet handed for expiry, and the number of leases by namespace.</summary>
    internal void CollectDue(List<Lease> due, Dictionary<string, int> leasedByNamespace)
    {
        var now = time.GetTimestamp();
        foreach (var lease in _leases.Values)
        {
            ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(leasedByNamespace, lease.Key.Namespace, out _);
            count++;
            if (!lease.ExpiryRequested && lease.IsDue(now))
            {
                due.Add(lease);
            }
        }
    }

    /// <summary>Gives every lease a full TTL from now: the restart grace.</summary>
    internal void RenewAll()
    {
        var now = time.GetTimestamp();
        foreach (var lease in _leases.Values)
        {
            lease.Renew(now);
        }
    }
}

/// <summary>One instance's lease. The expiry is written atomically by renewals from any thread.</summary>
internal sealed class Lease(InstanceKey key, long incarnation, TimeSpan ttl, long timestampFrequency)
{
    private long _dueTimestamp;
    private int _expiryRequested;

    public InstanceKey Key { get; } = key;

    public long Incarnation { get; } = incarnation;

    public TimeSpan Ttl { get; set; } = ttl;

    public bool ExpiryRequested => Volatile.Read(ref _expiryRequested) != 0;

    public void Renew(long now) =>
        Volatile.Write(ref _dueTimestamp, now + (long)(Ttl.TotalSeconds * timestampFrequency));

    public bool IsDue(long now) => Volatile.Read(ref _dueTimestamp) <= now;

    public void MarkExpiryRequested() => Volatile.Write(ref _expiryRequested, 1);

    public void ClearExpiryRequested() => Volatile.Write(ref _expiryRequested, 0);
}
