namespace Roster.PeerBench.Workloads;

internal static class Stats
{
    /// <summary>Nearest-rank percentile of an ascending array.</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The distribution as 0th, 1st, ... 100th percentiles: enough to draw it, small enough to keep.</summary>
    public static double[] Distribution(double[] sorted) =>
        [.. Enumerable.Range(0, 101).Select(p => Math.Round(Percentile(sorted, p), 3))];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
