using System.Diagnostics.Metrics;
using Roster.Server.Hosting;

namespace Roster.Server.Diagnostics;

/// <summary>
/// The node's instruments on the server's one <see cref="Meter"/>, <c>Roster.Server</c> (made by the host's
/// <see cref="IMeterFactory"/>): the registry's state observed when a listener collects, so nothing is paid on
/// the write path. Names and units follow OpenTelemetry's conventions; the only tag, <c>roster.status</c>,
/// takes one of four values.
/// </summary>
internal sealed class ServerTelemetry
{
    public const string Name = "Roster.Server";

    private static readonly string[] Statuses = ["live", "catching-up", "bus-unavailable", "failed"];

    public ServerTelemetry(IMeterFactory meters, RegistryNodeHost host, AdmissionControl admission)
    {
        var meter = meters.Create(Name);
        meter.CreateObservableUpDownCounter("roster.instances", () => Observe(host, n => (long)n.State.InstanceCount), "{instance}", "Registered instances.");
        meter.CreateObservableUpDownCounter("roster.leases", () => Observe(host, n => (long)n.Leases.Count), "{lease}", "Leases this node owns.");
        meter.CreateObservableUpDownCounter("roster.watchers", () => Observe(host, n => (long)n.Watches.SubscriberCount), "{watcher}", "Open watch streams.");
        meter.CreateObservableUpDownCounter("roster.writes.pending", () => Observe(host, n => (long)n.PendingWrites), "{write}",
            "Writes accepted and not yet applied: queued, or on their way through the log.");
        meter.CreateObservableCounter("roster.requests.shed", () => admission.Shed, "{request}",
            "Requests turned away with 503 by admission control (Roster:Admission) because the node was over its bounds.");
        meter.CreateObservableCounter("roster.changes.applied", () => Observe(host, n => n.Metrics.AppliedEntries), "{change}", "Change log entries applied.");
        meter.CreateObservableCounter("roster.leases.expired", () => Observe(host, n => n.Metrics.ExpiredTotal), "{instance}", "Instances expired because their lease ran out.");
        meter.CreateObservableCounter("roster.watchers.dropped", () => Observe(host, n => n.Watches.SlowConsumersDropped), "{watcher}",
            "Watchers disconnected because they fell too far behind.");
        meter.CreateObservableUpDownCounter("roster.self_preservation.namespaces", () => Observe(host, n => (long)n.Metrics.SelfPreservingNamespaces), "{namespace}",
            "Namespaces in which expiry is paused by self-preservation.");
        meter.CreateObservableUpDownCounter("roster.node.status", () => StatusOf(host), "{node}",
            "1 for the node's current status (roster.status: live, catching-up, bus-unavailable, failed), 0 for the others.");
        meter.CreateObservableUpDownCounter("roster.ready", () => Observe(host, n => n.IsReady ? 1 : 0), "{node}",
            "1 when the node has caught up with its log and serves watches.");
        meter.CreateObservableUpDownCounter("roster.revision", () => Observe(host, n => n.State.Revision), "{revision}", "Revision of the last applied change.");
        meter.CreateObservableUpDownCounter("roster.storage.problem", () => StorageOf(host), "{node}",
            "1 while writes are refused because the log cannot be written (roster.problem: disk-full or write-failed).");
        meter.CreateObservableUpDownCounter("roster.bus.connected", () => Cluster(host, (log, _, _) => log.IsPublishing && log.IsReading ? 1 : 0), "{node}",
            "Cluster only: 1 while the node can both publish to and read the cluster's stream.");
        meter.CreateObservableCounter("roster.bus.reconnects", () => Cluster(host, (log, _, _) => log.Reconnects), "{connection}",
            "Cluster only: connections to the message bus opened again after one was lost.");
        meter.CreateObservableUpDownCounter("roster.cluster.lag", () => Cluster(host, (_, membership, node) =>
        {
            var members = membership.Members();
            return Math.Max(node.State.Revision, members.Count == 0 ? 0 : members.Max(m => m.Announcement.Revision)) - node.State.Revision;
        }), "{revision}", "Cluster only: revisions this node is behind the most advanced node it hears.");
        meter.CreateObservableUpDownCounter("roster.cluster.nodes", () => Cluster(host, (_, membership, node) =>
            (long)membership.Members().Count(m => m.HeardAgo <= node.Options.DefaultTtl)), "{node}",
            "Cluster only: nodes heard from within one lease TTL, this one included.");
    }

    private static IEnumerable<Measurement<long>> Cluster(
        RegistryNodeHost host, Func<Roster.Cluster.RabbitStreamChangeLog, Roster.Cluster.BusMembership, Core.Node.RegistryNode, long> read)
    {
        if (host.ClusterLog is { } log && host.Membership is { } membership && host.TryGetNode(out var node))
        {
            yield return new Measurement<long>(read(log, membership, node));
        }
    }

    private static IEnumerable<Measurement<long>> StorageOf(RegistryNodeHost host)
    {
        if (host.TryGetNode(out var node))
        {
            var problem = node.StorageProblem;
            foreach (var kind in (string[])["disk-full", "write-failed"])
            {
                yield return new Measurement<long>(problem == kind ? 1 : 0, new KeyValuePair<string, object?>("roster.problem", kind));
            }
        }
    }

    /// <summary>Nothing before the node has started: an instrument then reports no value rather than a wrong one.</summary>
    private static IEnumerable<Measurement<long>> Observe(RegistryNodeHost host, Func<Core.Node.RegistryNode, long> read)
    {
        if (host.TryGetNode(out var node))
        {
            yield return new Measurement<long>(read(node));
        }
    }

    private static IEnumerable<Measurement<long>> StatusOf(RegistryNodeHost host)
    {
        var current = host.Status;
        foreach (var status in Statuses)
        {
            yield return new Measurement<long>(status == current ? 1 : 0, new KeyValuePair<string, object?>("roster.status", status));
        }
    }
}
