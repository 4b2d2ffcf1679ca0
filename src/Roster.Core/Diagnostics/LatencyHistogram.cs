namespace Roster.Core.Diagnostics;

/// <summary>
/// A fixed-bucket histogram of durations in seconds, safe to record from any thread (one atomic
/// increment per bucket) and rendered in Prometheus' cumulative form.
/// </summary>
public sealed class LatencyHistogram
{
    private static readonly double[] DefaultBounds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly long[] _counts;
    private long _count;
    private long _sumMicroseconds;

    public LatencyHistogram(double[]? bounds = null)
    {
        Bounds = bounds ?? DefaultBounds;
        _counts = new long[Bounds.Count + 1];
    }

    /// <summary>Upper bounds of the buckets, in seconds; one more bucket catches the rest.</summary>
    public IReadOnlyList<double> Bounds { get; }

    public long Count => Interlocked.Read(ref _count);

    public double SumSeconds => Interlocked.Read(ref _sumMicroseconds) / 1_000_000.0;

    public void Record(TimeSpan duration) => Record(duration.TotalSeconds);

    public void Record(double seconds)
    {
        var index = 0;
        while (index < Bounds.Count && seconds > Bounds[index])
        {
            index++;
        }

        Interlocked.Increment(ref _counts[index]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicroseconds, (long)(seconds * 1_000_000));
    }

    /// <summary>
    /// Appends the histogram in the Prometheus text format: <c>name_bucket</c> lines with <paramref name="labels"/>
    /// (<c>{a="1",b="2"}</c>, or empty) and <c>le</c>, then <c>name_sum</c> and <c>name_count</c>.
    /// </summary>
    public void WritePrometheus(System.Text.StringBuilder text, string name, string labels)
    {
        var prefix = labels.Length == 0 ? "{" : labels[..^1] + ",";
        var cumulative = CumulativeCounts();
        for (var i = 0; i < Bounds.Count; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{name}_bucket{prefix}le=\"{Bounds[i]}\"}} {cumulative[i]}\n");
        }

        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{name}_bucket{prefix}le=\"+Inf\"}} {cumulative[^1]}\n");
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{name}_sum{labels} {SumSeconds}\n{name}_count{labels} {Count}\n");
    }

    /// <summary>Cumulative counts per bucket (the last is +Inf).</summary>
    public long[] CumulativeCounts()
    {
        var result = new long[_counts.Length];
        long total = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            total += Interlocked.Read(ref _counts[i]);
            result[i] = total;
        }

        return result;
    }
}
