using System.Globalization;
using System.Text;
using System.Collections.Concurrent;
using Roster.Core.Diagnostics;

namespace Roster.Server.Diagnostics;

/// <summary>
/// Request counts and latencies by method, route template and status. Tags are bounded: the route
/// template, never the raw path.
/// </summary>
internal sealed class HttpMetrics
{
    private readonly ConcurrentDictionary<(Endpoint? Endpoint, string Method, int Status), StrongBox<long>> _counts = new();
    private readonly ConcurrentDictionary<(Endpoint? Endpoint, string Method), LatencyHistogram> _latency = new();

    /// <summary>Keyed by the endpoint object (a reference, cheap to hash); its route template names it when rendered.</summary>
    public void Record(Endpoint? endpoint, string method, int status, TimeSpan duration)
    {
        Interlocked.Increment(ref _counts.GetOrAdd((endpoint, method, status), static _ => new StrongBox<long>()).Value);
        _latency.GetOrAdd((endpoint, method), static _ => new LatencyHistogram()).Record(duration);
    }

    private static string RouteOf(Endpoint? endpoint) => (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";

    public IEnumerable<KeyValuePair<(string Method, string Route, int Status), long>> Counts =>
        _counts.GroupBy(p => (p.Key.Method, Route: RouteOf(p.Key.Endpoint), p.Key.Status))
            .Select(g => KeyValuePair.Create(g.Key, g.Sum(p => Interlocked.Read(ref p.Value.Value))));

    public IEnumerable<KeyValuePair<(string Method, string Route), LatencyHistogram>> Latencies =>
        _latency.Select(p => KeyValuePair.Create((p.Key.Method, RouteOf(p.Key.Endpoint)), p.Value));

    /// <summary>
    /// Appends <c>roster_http_requests_total</c> (by method, route and status) and
    /// <c>roster_http_request_duration_seconds</c> (by method and route) in the Prometheus text format.
    /// </summary>
    public void Render(StringBuilder text)
    {
        text.Append("# HELP roster_http_requests_total HTTP requests by method, route and status.\n# TYPE roster_http_requests_total counter\n");
        foreach (var ((method, route, status), count) in Counts.OrderBy(c => c.Key.Route, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"roster_http_requests_total{{method=\"{method}\",route=\"{Escape(route)}\",status=\"{status}\"}} {count}\n");
        }

        const string Name = "roster_http_request_duration_seconds";
        text.Append(CultureInfo.InvariantCulture, $"# HELP {Name} HTTP request duration by method and route.\n# TYPE {Name} histogram\n");
        foreach (var ((method, route), histogram) in Latencies)
        {
            histogram.WritePrometheus(text, Name, $"{{method=\"{method}\",route=\"{Escape(route)}\"}}");
        }
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    internal sealed class StrongBox<T>
    {
        public T? Value;
    }
}
