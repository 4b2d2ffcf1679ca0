namespace Roster.Client.Connection;

/// <summary>
/// Capped exponential backoff with jitter: round n waits between half and all of
/// min(max, initial × 2ⁿ), so clients that failed together do not come back together, and none waits
/// less than half the nominal delay (which full jitter allows, hammering a recovering node).
/// </summary>
internal static class Backoff
{
    public static TimeSpan Delay(int round, TimeSpan initial, TimeSpan max, double random)
    {
        var nominal = initial.Ticks * Math.Pow(2, Math.Min(round, 30));
        var capped = Math.Min(nominal, max.Ticks);
        return TimeSpan.FromTicks((long)(capped / 2 + capped / 2 * random));
    }
}
