using System.CommandLine;
using System.Globalization;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster audit [--service S] [--since R]</c>: who changed what in a namespace, from the node's audit.</summary>
internal static class AuditCommand
{
    public static Command Create(TextWriter output)
    {
        var service = new Option<string?>("--service") { Description = "Only this service." };
        var since = new Option<long?>("--since") { Description = "Only changes after this revision." };
        var limit = new Option<int?>("--limit") { Description = "At most this many changes (the node's default: 1000)." };
        var command = NodeCall.Create("audit", "Show who changed what: each change with its time, principal, client and node.", namespaced: true);
        command.Add(service);
        command.Add(since);
        command.Add(limit);
        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            var query = new List<string> { "namespace=" + Uri.EscapeDataString(node.Namespace) };
            if (parse.GetValue(service) is { } s)
            {
                query.Add("service=" + Uri.EscapeDataString(s));
            }

            if (parse.GetValue(since) is { } r)
            {
                query.Add("since=" + r.ToString(CultureInfo.InvariantCulture));
            }

            if (parse.GetValue(limit) is { } n)
            {
                query.Add("limit=" + n.ToString(CultureInfo.InvariantCulture));
            }

            using var doc = await node.GetJsonAsync("api/v1/audit?" + string.Join('&', query), ct).ConfigureAwait(false);
            await node.PrintListAsync(doc.RootElement, "entries", ["REVISION", "TIME", "SERVICE", "ID", "ACTION", "PRINCIPAL", "CLIENT", "NODE"], e =>
            [
                Text(e.GetProperty("revision")), Text(e.GetProperty("time")), Text(e.GetProperty("service")), Text(e.GetProperty("id")),
                ActionText(e), Text(e.GetProperty("principal")), Text(e.GetProperty("client")), Text(e.GetProperty("node")),
            ]).ConfigureAwait(false);
        }, ct));
        return command;
    }

    /// <summary>The action, with what an operator change left (drained, disabled, the weight).</summary>
    private static string ActionText(System.Text.Json.JsonElement entry)
    {
        var action = Text(entry.GetProperty("action"));
        return action == "operator" ? $"operator ({StateOf(entry)}, weight {Text(entry.GetProperty("effectiveWeight"))})" : action;
    }
}
