using System.CommandLine;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster instances SERVICE</c>: the instances of a service.</summary>
internal static class InstancesCommand
{
    public static Command Create(TextWriter output)
    {
        var service = new Argument<string>("service") { Description = "Service name." };
        var command = NodeCall.Create("instances", "List the instances of a service.", namespaced: true);
        command.Add(service);
        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            using var doc = await node.GetJsonAsync(ServicePath(node.Namespace, parse.GetValue(service)!), ct).ConfigureAwait(false);
            await node.PrintListAsync(doc.RootElement, "instances", ["ID", "ADDRESS", "PORT", "ZONE", "VERSION", "WEIGHT", "STATE", "INCARNATION"], i =>
            [
                Text(i.GetProperty("id")), Text(i.GetProperty("address")), Text(i.GetProperty("port")), Text(i.GetProperty("zone")),
                Text(i.GetProperty("version")), Text(i.GetProperty("effectiveWeight")), StateOf(i), Text(i.GetProperty("incarnation")),
            ]).ConfigureAwait(false);
        }, ct));
        return command;
    }
}
