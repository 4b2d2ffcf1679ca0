using Roster.Core.StateMachine;

namespace Roster.Core.Watch;

/// <summary>
/// The most recent change events, so a watcher can resume from a revision. A ring buffer owned by
/// <see cref="WatchHub"/> and only touched under its lock.
/// </summary>
internal sealed class EventHistory
{
    private readonly ChangeEvent[] _ring;
    private int _start;
    private int _count;

    public EventHistory(int capacity, long coveredFrom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new ChangeEvent[capacity];
        CoveredFrom = coveredFrom;
    }

    /// <summary>
    /// Every event with a revision above this one is held. A watcher resuming from a revision at or
    /// above it can be served from history; below it, it needs a reset.
    /// </summary>
    public long CoveredFrom { get; private set; }

    public int Count => _count;

    public void Add(ChangeEvent change)
    {
        if (_count == _ring.Length)
        {
            CoveredFrom = _ring[_start].Revision;
            _ring[_start] = change;
            _start = (_start + 1) % _ring.Length;
        }
        else
        {
            _ring[(_start + _count) % _ring.Length] = change;
            _count++;
        }
    }

    /// <summary>Events after <paramref name="revision"/> for which <paramref name="include"/> holds, oldest first, at
    /// most <paramref name="limit"/>.</summary>
    public List<ChangeEvent> After(long revision, Func<ChangeEvent, bool> include, int limit = int.MaxValue)
    {
        var result = new List<ChangeEvent>();
        var index = FirstIndexAfter(revision);
        for (; index < _count && result.Count < limit; index++)
        {
            var change = _ring[(_start + index) % _ring.Length];
            if (include(change))
            {
                result.Add(change);
            }
        }

        return result;
    }

    /// <summary>
    /// The newest events, oldest first: walking back from the newest while <paramref name="recent"/> holds, keeping those
    /// for which <paramref name="include"/> holds.
    /// </summary>
    public List<ChangeEvent> Newest(Func<ChangeEvent, bool> recent, Func<ChangeEvent, bool> include)
    {
        var result = new List<ChangeEvent>();
        for (var index = _count - 1; index >= 0; index--)
        {
            var change = _ring[(_start + index) % _ring.Length];
            if (!recent(change))
            {
                break;
            }

            if (include(change))
            {
                result.Add(change);
            }
        }

        result.Reverse();
        return result;
    }

    public ChangeEvent[] ToArray() => After(long.MinValue, static _ => true).ToArray();

    private int FirstIndexAfter(long revision)
    {
        // Revisions increase along the ring; binary search for the first one above `revision`.
        int low = 0, high = _count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_ring[(_start + mid) % _ring.Length].Revision <= revision)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }
}
