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

    public ServerTelemetry(IMeterFactory meters, RegistryNodeHost host)
    {
        var meter = meters.Create(Name);
        meter.CreateObservableUpDownCounter("roster.instances", () => Observe(host, n => (long)n.State.InstanceCount), "{instance}", "Registered instances.");
        meter.CreateObservableUpDownCounter("roster.leases", () => Observe(host, n => (long)n.Leases.Count), "{lease}", "Leases this node owns.");
        meter.CreateObservableUpDownCounter("roster.watchers", () => Observe(host, n => (long)n.Watches.SubscriberCount), "{watcher}", "Open watch streams.");
        meter.CreateObservableUpDownCounter("roster.writes.pending", () => Observe(host, n => (long)n.PendingWrites), "{write}",
            "Writes accepted and not yet applied: queued, or on their way through the log.");
        meter.CreateObservableCounter("roster.changes.applied", () => Observe(host, n => n.Metrics.AppliedEntries), "{change}", "Change log entries applied.");
        meter.CreateObservableCounter("roster.leases.expired", () => Observe(host, n => n.Metrics.ExpiredTotal), "{instance}", "Instances expired because their lease ran out.");
        meter.CreateObservableCounter("roster.watchers.dropped", () => Observe(host, n => n.Watches.SlowConsumersDropped), "{watcher}",
            "Watchers disconnected because they fell too far behind.");
        meter.CreateObservableUpDownCounter("roster.self_preservation.namespaces", () => Observe(host, n => (long)n.Metrics.SelfPreservingNamespaces), "{namespace}",
            "Namespaces in which expiry is paused by self-preservation.");
        meter.CreateObservableUpDownCounter("roster.node.status", () => StatusOf(host), "{node}",
            "1 for the node's current status (roster.status: live, catching-up, bus-unavailable, failed), 0 for the others.");
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
