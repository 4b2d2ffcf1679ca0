using System.CommandLine;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster status</c>: the node's registry id, revision, readiness and status.</summary>
internal static class StatusCommand
{
    public static Command Create(TextWriter output)
    {
        var command = NodeCall.Create("status", "Show the node's registry id, revision and readiness.", namespaced: false);
        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            using var doc = await node.GetJsonAsync("api/v1/status", ct).ConfigureAwait(false);
            await node.PrintObjectAsync(doc.RootElement, root => Table.WriteAsync(node.Output, ["FIELD", "VALUE"],
                root.EnumerateObject().Select(p => new[] { p.Name, Text(p.Value) }))).ConfigureAwait(false);
        }, ct));
        return command;
    }
}
