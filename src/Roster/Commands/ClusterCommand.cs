using System.CommandLine;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster cluster</c>: every node of the cluster as the asked node sees it.</summary>
internal static class ClusterCommand
{
    public static Command Create(TextWriter output)
    {
        var command = NodeCall.Create("cluster", "Show every node of the cluster: status, applied revision, lag, leases, watchers, when last heard.", namespaced: false);
        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            using var doc = await node.GetJsonAsync("api/v1/cluster", ct).ConfigureAwait(false);
            var root = doc.RootElement;
            if (node.Format == OutputFormat.Table)
            {
                var stream = root.GetProperty("stream");
                await output.WriteLineAsync(
                    $"registry {Text(root.GetProperty("registryId"))}, stream positions {Text(stream.GetProperty("firstPosition"))} to {Text(stream.GetProperty("lastPosition"))}").ConfigureAwait(false);
            }

            await node.PrintListAsync(root, "nodes", ["NODE", "ADDRESS", "STATUS", "REVISION", "LAG", "LEASES", "WATCHERS", "HEARD"], n =>
            [
                Text(n.GetProperty("id")) + (n.GetProperty("self").GetBoolean() ? " (this)" : string.Empty), Text(n.GetProperty("address")),
                Text(n.GetProperty("status")), Text(n.GetProperty("revision")), Text(n.GetProperty("lag")), Text(n.GetProperty("leases")),
                Text(n.GetProperty("watchers")), Text(n.GetProperty("lastHeardSeconds")) + " s ago",
            ]).ConfigureAwait(false);
        }, ct));
        return command;
    }
}
