using Roster.Cluster;
using Roster.Core.Log;
using Roster.Server.Hosting;

namespace Roster.Server.Api;

/// <summary>
/// <c>GET /api/v1/cluster</c>: every node as this node hears it (id, address, status, applied revision, lag in
/// revisions behind the most advanced node, leases owned, watchers, when last heard), and the first and last
/// positions the stream holds (retention drops from the first). On
/// a single node, that node alone. Open without a token, like status: it reveals no registrations.
/// </summary>
internal static class ClusterEndpoints
{
    public static void Map(WebApplication app) => app.MapGet("/api/v1/cluster", GetAsync);

    private static async Task<IResult> GetAsync(RegistryNodeHost host, HttpContext context)
    {
        var node = host.Node;
        var self = host.Describe();
        var members = host.Membership?.Members()
            .Select(m => m.Announcement.Node == node.NodeId ? m with { Announcement = self, HeardAgo = TimeSpan.Zero } : m)
            .ToList() ?? [];
        if (!members.Any(m => m.Announcement.Node == node.NodeId))
        {
            members.Add(new ClusterMember(self, TimeSpan.Zero));
        }

        long? first = null, last = null;
        if (host.ClusterLog is { } log)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                last = await log.GetLastPositionAsync(deadline.Token).ConfigureAwait(false);
                first = await log.GetFirstPositionAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LogUnavailableException or OperationCanceledException && !context.RequestAborted.IsCancellationRequested)
            {
                // Unknown while the bus is out of reach; the nodes are still listed.
            }
        }

        var newest = members.Max(m => m.Announcement.Revision);
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("registryId"u8, node.RegistryId);
            w.WriteString("nodeId"u8, node.NodeId);
            w.WriteBoolean("clustered"u8, host.ClusterLog is not null);
            w.WriteStartObject("stream"u8);
            WriteNumberOrNull(w, "firstPosition"u8, first);
            WriteNumberOrNull(w, "lastPosition"u8, last);
            w.WriteEndObject();
            w.WriteStartArray("nodes"u8);
            foreach (var member in members.OrderBy(m => m.Announcement.Node, StringComparer.Ordinal))
            {
                var said = member.Announcement;
                w.WriteStartObject();
                w.WriteString("id"u8, said.Node);
                w.WriteString("address"u8, said.Address ?? string.Empty);
                w.WriteString("status"u8, member.HeardAgo > TimeSpan.FromSeconds(node.Options.DefaultTtl.TotalSeconds) ? "silent" : said.Status);
                w.WriteNumber("revision"u8, said.Revision);
                w.WriteNumber("lag"u8, Math.Max(0, newest - said.Revision));
                w.WriteNumber("leases"u8, said.Leases);
                w.WriteNumber("watchers"u8, said.Watchers);
                w.WriteNumber("lastHeardSeconds"u8, Math.Round(member.HeardAgo.TotalSeconds, 1));
                w.WriteBoolean("self"u8, said.Node == node.NodeId);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, node.State.Revision);
    }

    private static void WriteNumberOrNull(System.Text.Json.Utf8JsonWriter writer, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
