namespace Roster.Bench;

/// <summary>Latency samples from many threads; percentiles at the end.</summary>
internal sealed class Latencies : IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentBag<List<double>> _lists = [];
    private readonly ThreadLocal<List<double>> _local;

    public Latencies() => _local = new ThreadLocal<List<double>>(() =>
    {
        var list = new List<double>();
        _lists.Add(list);
        return list;
    });

    public void Add(TimeSpan latency) => _local.Value!.Add(latency.TotalMilliseconds);

    public void Dispose() => _local.Dispose();

    public string Summary()
    {
        var all = _lists.SelectMany(l => l).Order().ToArray();
        if (all.Length == 0)
        {
            return "no samples";
        }

        double At(double p) => all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        return $"p50 {At(0.50):0.00} ms, p99 {At(0.99):0.00} ms, max {all[^1]:0.00} ms ({all.Length} samples)";
    }
}
