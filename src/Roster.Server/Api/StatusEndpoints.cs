using Roster.Server.Diagnostics;
using Roster.Server.Hosting;

namespace Roster.Server.Api;

/// <summary>Status, health, readiness and metrics. Open without a token: they reveal no registrations. Health,
/// readiness and metrics are never rate-limited: probes that fail under load restart healthy nodes.</summary>
internal static class StatusEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/v1/status", (RegistryNodeHost host) =>
        {
            var node = host.Node;
            var state = node.State;
            return new JsonResult(StatusCodes.Status200OK, w =>
            {
                w.WriteStartObject();
                w.WriteString("registryId"u8, node.RegistryId);
                w.WriteString("nodeId"u8, node.NodeId);
                w.WriteString("status"u8, host.Status);
                w.WriteNumber("revision"u8, state.Revision);
                w.WriteBoolean("ready"u8, node.IsReady);
                w.WriteString("startedAt"u8, host.StartedAt);
                w.WriteNumber("uptimeSeconds"u8, Math.Floor(host.Uptime.TotalSeconds));
                w.WriteString("storage"u8, node.StorageProblem ?? "ok");
                if (node.Fault is { } fault)
                {
                    w.WriteString("fault"u8, fault);
                }

                w.WriteNumber("namespaces"u8, state.Namespaces.Count);
                w.WriteNumber("instances"u8, state.InstanceCount);
                w.WriteNumber("leases"u8, node.Leases.Count);
                w.WriteNumber("watchers"u8, node.Watches.SubscriberCount);
                w.WriteBoolean("selfPreservation"u8, node.Metrics.SelfPreservingNamespaces > 0);
                if (host.ClusterLog is { } log)
                {
                    w.WriteString("bus"u8, log.IsPublishing && log.IsReading ? "connected" : "unavailable");
                    w.WriteNumber("busReconnects"u8, log.Reconnects);
                }

                w.WriteEndObject();
            }, state.Revision);
        });
        app.MapGet("/healthz", (RegistryNodeHost host) => Answer(Probes.Health(host))).DisableRateLimiting();
        app.MapGet("/readyz", (RegistryNodeHost host) => Answer(Probes.Readiness(host))).DisableRateLimiting();
        app.MapGet("/metrics", (MetricsExporter exporter) =>
            Results.Text(exporter.Render(), "text/plain; version=0.0.4; charset=utf-8")).DisableRateLimiting();
    }

    private static IResult Answer((int Status, string Text) probe) => Results.Text(probe.Text, statusCode: probe.Status);
}
