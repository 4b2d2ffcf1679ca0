using System.Collections.Concurrent;
using Roster.Core.Diagnostics;

namespace Roster.Server.Diagnostics;

/// <summary>
/// Request counts and latencies by method, route template and status. Tags are bounded: the route
/// template, never the raw path.
/// </summary>
internal sealed class HttpMetrics
{
    private readonly ConcurrentDictionary<(string Method, string Route, int Status), StrongBox<long>> _counts = new();
    private readonly ConcurrentDictionary<(string Method, string Route), LatencyHistogram> _latency = new();

    public void Record(string method, string route, int status, TimeSpan duration)
    {
        Interlocked.Increment(ref _counts.GetOrAdd((method, route, status), static _ => new StrongBox<long>()).Value);
        _latency.GetOrAdd((method, route), static _ => new LatencyHistogram()).Record(duration);
    }

    public IEnumerable<KeyValuePair<(string Method, string Route, int Status), long>> Counts =>
        _counts.Select(p => KeyValuePair.Create(p.Key, Interlocked.Read(ref p.Value.Value)));

    public IEnumerable<KeyValuePair<(string Method, string Route), LatencyHistogram>> Latencies => _latency;

    internal sealed class StrongBox<T>
    {
        public T? Value;
    }
}
