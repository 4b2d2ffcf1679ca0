using System.CommandLine;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster deregister SERVICE ID</c>: removes an instance.</summary>
internal static class DeregisterCommand
{
    public static Command Create(TextWriter output)
    {
        var service = new Argument<string>("service") { Description = "Service name." };
        var id = new Argument<string>("id") { Description = "Instance id." };
        var command = NodeCall.Create("deregister", "Remove an instance.", namespaced: true);
        command.Add(service);
        command.Add(id);
        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            using var response = await node.Client.DeleteAsync(
                new Uri(InstancePath(node.Namespace, parse.GetValue(service)!, parse.GetValue(id)!), UriKind.Relative), ct).ConfigureAwait(false);
            await NodeCall.EnsureSuccessAsync(response, ct).ConfigureAwait(false);
            await output.WriteLineAsync(node.Format == OutputFormat.Table
                ? $"deregistered {parse.GetValue(service)}/{parse.GetValue(id)}"
                : """{"deregistered":true}""").ConfigureAwait(false);
        }, ct));
        return command;
    }
}
