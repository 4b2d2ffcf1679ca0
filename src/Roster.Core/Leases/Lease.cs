using Roster.Core.Model;

namespace Roster.Core.Leases;

/// <summary>One instance's lease. The due time is written atomically by renewals from any thread.</summary>
internal sealed class Lease(InstanceKey key, long incarnation, long ttlTicks)
{
    private long _dueTimestamp;
    private long _ttlTicks = ttlTicks;
    private int _expiryRequested;
    private int _removed;

    public InstanceKey Key { get; } = key;

    public long Incarnation { get; } = incarnation;

    /// <summary>The TTL in <see cref="TimeProvider"/> timestamp units. Written by the applier alone (a
    /// registration may change it), read by renewals on any thread.</summary>
    public long TtlTicks
    {
        get => Volatile.Read(ref _ttlTicks);
        set => Volatile.Write(ref _ttlTicks, value);
    }

    public long DueTimestamp => Volatile.Read(ref _dueTimestamp);

    public bool ExpiryRequested => Volatile.Read(ref _expiryRequested) != 0;

    public bool IsRemoved => Volatile.Read(ref _removed) != 0;

    public void Renew(long now) => Volatile.Write(ref _dueTimestamp, now + TtlTicks);

    public bool IsDue(long now) => DueTimestamp <= now;

    public void MarkExpiryRequested() => Volatile.Write(ref _expiryRequested, 1);

    public void ClearExpiryRequested() => Volatile.Write(ref _expiryRequested, 0);

    public void MarkRemoved() => Volatile.Write(ref _removed, 1);
}
