using System.CommandLine;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster services</c>: the services of a namespace.</summary>
internal static class ServicesCommand
{
    public static Command Create(TextWriter output)
    {
        var command = NodeCall.Create("services", "List the services of a namespace.", namespaced: true);
        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            using var doc = await node.GetJsonAsync($"api/v1/namespaces/{Uri.EscapeDataString(node.Namespace)}/services", ct).ConfigureAwait(false);
            await node.PrintListAsync(doc.RootElement, "services", ["SERVICE", "INSTANCES", "SEQUENCE", "DIGEST"], s =>
            [
                Text(s.GetProperty("name")), Text(s.GetProperty("instances")), Text(s.GetProperty("sequence")), Text(s.GetProperty("digest")),
            ]).ConfigureAwait(false);
        }, ct));
        return command;
    }
}
