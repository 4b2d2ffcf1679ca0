using System.Globalization;
using System.Text;
using Roster.Core.Diagnostics;
using Roster.Server.Hosting;

namespace Roster.Server.Diagnostics;

/// <summary>Renders the node's and the HTTP layer's figures in the Prometheus text exposition format.</summary>
internal static class PrometheusText
{
    public static string Render(RegistryNodeHost host, HttpMetrics http)
    {
        var node = host.Node;
        var text = new StringBuilder(4096);
        var state = node.State;
        text.Append("# HELP roster_node_status The node's status (1 for the current one): live, catching-up, bus-unavailable or failed.\n# TYPE roster_node_status gauge\n");
        var nodeStatus = host.Status;
        foreach (var name in (string[])["live", "catching-up", "bus-unavailable", "failed"])
        {
            text.Append(CultureInfo.InvariantCulture, $"roster_node_status{{status=\"{name}\"}} {(name == nodeStatus ? 1 : 0)}\n");
        }

        if (host.ClusterLog is { } log && host.Membership is { } membership)
        {
            var members = membership.Members();
            var newest = Math.Max(state.Revision, members.Count == 0 ? 0 : members.Max(m => m.Announcement.Revision));
            Gauge(text, "roster_bus_connected", "1 while the node can both publish to and read the cluster's stream.", log.IsPublishing && log.IsReading ? 1 : 0);
            Counter(text, "roster_bus_reconnects_total", "Connections to the message bus opened again after one was lost.", log.Reconnects);
            Gauge(text, "roster_cluster_lag_revisions", "Revisions this node is behind the most advanced node it hears.", newest - state.Revision);
            Gauge(text, "roster_cluster_nodes_heard", "Nodes heard from within one lease TTL, this one included.", members.Count(m => m.HeardAgo <= node.Options.DefaultTtl));
        }

        Gauge(text, "roster_ready", "1 when the node has caught up with its log and serves watches.", node.IsReady ? 1 : 0);
        Gauge(text, "roster_storage_full", "1 while writes are refused because the disk is full.", node.StorageProblem == "disk-full" ? 1 : 0);
        Gauge(text, "roster_storage_failing", "1 while writes are refused because the log cannot be written (disk full or failing).", node.StorageProblem is null ? 0 : 1);
        Gauge(text, "roster_revision", "Revision of the last applied change.", state.Revision);
        Gauge(text, "roster_instances", "Registered instances.", state.InstanceCount);
        Gauge(text, "roster_leases", "Leases owned by this node.", node.Leases.Count);
        Gauge(text, "roster_watchers", "Open watch streams.", node.Watches.SubscriberCount);
        Counter(text, "roster_watchers_dropped_slow_total", "Watchers disconnected because their queue was full.", node.Watches.SlowConsumersDropped);
        Counter(text, "roster_lease_expiries_total", "Instances expired because their lease ran out.", node.Metrics.ExpiredTotal);
        Counter(text, "roster_log_entries_applied_total", "Change log entries applied.", node.Metrics.AppliedEntries);
        Gauge(text, "roster_self_preservation_active", "Namespaces in which expiry is paused by self-preservation.", node.Metrics.SelfPreservingNamespaces);
        Counter(text, "roster_process_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.", GC.GetTotalAllocatedBytes());
        Gauge(text, "roster_process_gc_pause_seconds_total", "Time the process was paused by garbage collection.", GC.GetTotalPauseDuration().TotalSeconds);
        Gauge(text, "roster_process_managed_heap_bytes", "Managed heap size after the last garbage collection.", GC.GetGCMemoryInfo().HeapSizeBytes);
        text.Append("# HELP roster_process_gc_collections_total Garbage collections by generation.\n# TYPE roster_process_gc_collections_total counter\n");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            text.Append(CultureInfo.InvariantCulture, $"roster_process_gc_collections_total{{generation=\"{generation}\"}} {GC.CollectionCount(generation)}\n");
        }

        Histogram(text, "roster_log_append_duration_seconds", "Time for a change to become durable in the log.", [(string.Empty, node.Metrics.LogAppendLatency)]);

        text.Append("# HELP roster_http_requests_total HTTP requests by method, route and status.\n# TYPE roster_http_requests_total counter\n");
        foreach (var ((method, route, status), count) in http.Counts.OrderBy(c => c.Key.Route, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"roster_http_requests_total{{method=\"{method}\",route=\"{Escape(route)}\",status=\"{status}\"}} {count}\n");
        }

        Histogram(text, "roster_http_request_duration_seconds", "HTTP request duration by method and route.",
            http.Latencies.Select(l => ($"method=\"{l.Key.Method}\",route=\"{Escape(l.Key.Route)}\"", l.Value)));
        return text.ToString();
    }

    private static void Gauge(StringBuilder text, string name, string help, double value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Histogram(StringBuilder text, string name, string help, IEnumerable<(string Labels, LatencyHistogram Histogram)> series)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        foreach (var (labels, histogram) in series)
        {
            var prefix = labels.Length == 0 ? string.Empty : labels + ",";
            var cumulative = histogram.CumulativeCounts();
            for (var i = 0; i < histogram.Bounds.Count; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"{histogram.Bounds[i]}\"}} {cumulative[i]}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"+Inf\"}} {cumulative[^1]}\n");
            var braces = labels.Length == 0 ? string.Empty : "{" + labels + "}";
            text.Append(CultureInfo.InvariantCulture, $"{name}_sum{braces} {histogram.SumSeconds}\n{name}_count{braces} {histogram.Count}\n");
        }
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
