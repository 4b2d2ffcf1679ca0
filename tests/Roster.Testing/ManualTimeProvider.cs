namespace Roster.Testing;

/// <summary>
/// Time that moves only when a test says so. Timers created from it are the system's (real time);
/// tests that depend on time passing move this clock and either call the work directly or let the
/// real timer find the moved clock.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    // Off-grid on purpose (the core's README): a round start hides code that only works on whole seconds or minutes.
    private long _ticks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks + 13_370_000_987;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
