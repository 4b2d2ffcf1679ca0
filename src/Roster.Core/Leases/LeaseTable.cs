using System.Collections.Concurrent;
using Roster.Core.Model;

namespace Roster.Core.Leases;

/// <summary>
/// The leases this node owns, by incarnation (unique in a registry, so a renewal is one lookup).
/// <para>
/// Ownership: leases are added and removed only by the applier; renewals, from any request thread,
/// only move a lease's due time forward with an atomic write; the expiry pass alone owns the timing
/// wheel. Renewals never enter the change log.
/// </para>
/// <para>
/// Finding what is due: a lazy timing wheel. A lease sits in the slot of the due time it had when it
/// was placed; a renewal does not move it. When its slot comes up, a lease still due is reported (and
/// checked again next pass until it is gone), a renewed one is placed again at its new due time. So a
/// lease costs about one look per TTL, not one per pass: a node holding 100 000 leases does not walk
/// them four times a second.
/// </para>
/// </summary>
public sealed class LeaseTable
{
    private readonly TimeProvider _time;
    private readonly long _slotWidth;
    private readonly ConcurrentDictionary<long, Lease> _leases = new();
    private readonly ConcurrentDictionary<string, StrongBox> _countByNamespace = new(StringComparer.Ordinal);

    // New leases, handed from the applier to the expiry pass.
    private readonly ConcurrentQueue<Lease> _arrivals = new();

    // Owned by the expiry pass alone: slot number (due time / slot width) to the leases placed there.
    private readonly SortedDictionary<long, List<Lease>> _wheel = [];

    // Owned by the expiry pass alone: the latest slot a pass has reached.
    private long _lastCollectedSlot = -1;

    public LeaseTable(TimeProvider time)
    {
        _time = time;
        _slotWidth = Math.Max(1, time.TimestampFrequency / 10);
    }

    public int Count => _leases.Count;

    /// <summary>Leases held in <paramref name="namespace"/>.</summary>
    public int CountIn(string @namespace) =>
        _countByNamespace.TryGetValue(@namespace, out var count) ? Volatile.Read(ref count.Value) : 0;

    /// <summary>
    /// When the lease of <paramref name="incarnation"/> runs out and when it was last renewed, if this node holds it
    /// (a lease is held by the node that owns the instance). Lock-free; for display, not for decisions.
    /// </summary>
    public bool TryGetTiming(long incarnation, out TimeSpan untilExpiry, out TimeSpan sinceRenewal)
    {
        if (!_leases.TryGetValue(incarnation, out var lease) || lease.IsRemoved)
        {
            untilExpiry = sinceRenewal = TimeSpan.Zero;
            return false;
        }

        var now = _time.GetTimestamp();
        var due = lease.DueTimestamp;
        untilExpiry = TimeSpan.FromSeconds((due - now) / (double)_time.TimestampFrequency);
        sinceRenewal = TimeSpan.FromSeconds((now - (due - lease.TtlTicks)) / (double)_time.TimestampFrequency);
        return true;
    }

    /// <summary>Creates or refreshes the lease of <paramref name="instance"/>, due one TTL from now. Applier only.</summary>
    internal void Put(InstanceKey key, InstanceRecord instance)
    {
        var ttl = (long)(instance.Registration.TtlSeconds * (double)_time.TimestampFrequency);
        if (!_leases.TryGetValue(instance.Incarnation, out var lease))
        {
            lease = new Lease(key, instance.Incarnation, ttl);
            lease.Renew(_time.GetTimestamp());
            _leases[instance.Incarnation] = lease;
            Interlocked.Increment(ref _countByNamespace.GetOrAdd(key.Namespace, static _ => new StrongBox()).Value);
            _arrivals.Enqueue(lease);
            return;
        }

        lease.TtlTicks = ttl;
        lease.Renew(_time.GetTimestamp());
    }

    /// <summary>Drops a lease (its instance is gone). Applier only.</summary>
    internal void Remove(long incarnation)
    {
        if (_leases.TryRemove(incarnation, out var lease))
        {
            lease.MarkRemoved();
            Interlocked.Decrement(ref _countByNamespace[lease.Key.Namespace].Value);
        }
    }

    /// <summary>
    /// Moves the lease's due time one TTL ahead when <paramref name="incarnation"/> is the one held for
    /// <paramref name="key"/>. Refused once its expiry has been handed to the log: the instance is going
    /// away, so the client is told to register again rather than that all is well.
    /// </summary>
    public bool TryRenew(in InstanceKey key, long incarnation)
    {
        if (_leases.TryGetValue(incarnation, out var lease) && lease.Key == key && !lease.ExpiryRequested)
        {
            lease.Renew(_time.GetTimestamp());
            return true;
        }

        return false;
    }

    /// <summary>Leases due now and not yet handed for expiry. Expiry pass only.</summary>
    /// <returns>Whether this pass reached a slot no earlier pass had: only then has every lease held back before (placed
    /// in the next slot) been looked at again. A second pass within the same slot sees only leases that arrived since.</returns>
    internal bool CollectDue(List<Lease> due)
    {
        var now = _time.GetTimestamp();
        while (_arrivals.TryDequeue(out var arrived))
        {
            Place(arrived, arrived.DueTimestamp / _slotWidth);
        }

        var current = now / _slotWidth;
        var reachedNewSlot = current > _lastCollectedSlot;
        _lastCollectedSlot = Math.Max(_lastCollectedSlot, current);

        // Everything looked at in this pass is placed after the current slot: a lease due later within
        // it (clocks are not aligned to slots) must wait for the next pass, or this loop never ends.
        var earliest = current + 1;
        while (_wheel.Count > 0)
        {
            var (slot, leases) = _wheel.First();
            if (slot > current)
            {
                break;
            }

            _wheel.Remove(slot);
            foreach (var lease in leases)
            {
                if (lease.IsRemoved)
                {
                    continue;
                }

                if (lease.IsDue(now))
                {
                    if (!lease.ExpiryRequested)
                    {
                        due.Add(lease);
                    }

                    // Looked at again next pass until it is gone: expiry may be held back or may fail.
                    Place(lease, earliest);
                }
                else
                {
                    Place(lease, Math.Max(lease.DueTimestamp / _slotWidth, earliest));
                }
            }
        }

        return reachedNewSlot;
    }

    /// <summary>Gives every lease a full TTL from now: the restart grace.</summary>
    internal void RenewAll()
    {
        var now = _time.GetTimestamp();
        foreach (var lease in _leases.Values)
        {
            lease.Renew(now);
        }
    }

    private void Place(Lease lease, long slot)
    {
        if (!_wheel.TryGetValue(slot, out var leases))
        {
            leases = [];
            _wheel[slot] = leases;
        }

        leases.Add(lease);
    }

    private sealed class StrongBox
    {
        public int Value;
    }
}
