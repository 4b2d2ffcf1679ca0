namespace Roster.Testing;

/// <summary>
/// Time, and the timers made from it, that move only when a test calls <see cref="Advance"/>: a
/// <c>Task.Delay(d, provider)</c> or a <c>CancellationTokenSource(d, provider)</c> fires exactly when
/// the test has moved the clock past its due time, never on its own. (Unlike
/// <see cref="ManualTimeProvider"/>, whose timers are real.) Callbacks run on the caller of
/// <see cref="Advance"/>, outside the lock.
/// </summary>
public sealed class SteppedTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<SteppedTimer> _timers = [];
    private long _ticks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, 371, TimeSpan.Zero).UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    /// <summary>How many timers are waiting: lets a test know that the code under test has started to wait.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.DueTicks != long.MaxValue);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SteppedTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock and fires, in due order, every timer that came due.</summary>
    public void Advance(TimeSpan by)
    {
        var target = Interlocked.Read(ref _ticks) + by.Ticks;
        while (true)
        {
            SteppedTimer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.DueTicks <= target).MinBy(t => t.DueTicks);
                if (next is null)
                {
                    Interlocked.Exchange(ref _ticks, target);
                    return;
                }

                Interlocked.Exchange(ref _ticks, Math.Max(Interlocked.Read(ref _ticks), next.DueTicks));
                next.DueTicks = next.PeriodTicks > 0 ? next.DueTicks + next.PeriodTicks : long.MaxValue;
            }

            next.Fire();
        }
    }

    private sealed class SteppedTimer(SteppedTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueTicks { get; set; } = long.MaxValue;

        public long PeriodTicks { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                DueTicks = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : owner.GetTimestamp() + Math.Max(0, dueTime.Ticks);
                PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
                if (!owner._timers.Contains(this))
                {
                    owner._timers.Add(this);
                }
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
