using System.CommandLine;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster drain</c> and <c>roster undrain</c>: the operator's drained state of an instance.</summary>
internal static class DrainCommand
{
    public static IEnumerable<Command> Create(TextWriter output)
    {
        foreach (var (name, drained) in new[] { ("drain", true), ("undrain", false) })
        {
            var service = new Argument<string>("service") { Description = "Service name." };
            var id = new Argument<string>("id") { Description = "Instance id." };
            var command = NodeCall.Create(name, drained
                ? "Send no new traffic to an instance (operator state; survives re-registration)."
                : "Let an instance receive traffic again.", namespaced: true);
            command.Add(service);
            command.Add(id);
            command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri(InstancePath(node.Namespace, parse.GetValue(service)!, parse.GetValue(id)!), UriKind.Relative))
                {
                    Content = JsonBody(w => w.WriteBoolean("drained", drained)),
                };
                using var response = await node.Client.SendAsync(request, ct).ConfigureAwait(false);
                await node.PrintInstanceAsync(response, drained ? "drained" : "undrained", ct).ConfigureAwait(false);
            }, ct));
            yield return command;
        }
    }
}
