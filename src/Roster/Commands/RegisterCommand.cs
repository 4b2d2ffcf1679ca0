using System.CommandLine;
using System.Text.Json;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary><c>roster register SERVICE ID --address A --port P</c>: registers an instance, persistent unless <c>--ttl</c> is given.</summary>
internal static class RegisterCommand
{
    public static Command Create(TextWriter output)
    {
        var service = new Argument<string>("service") { Description = "Service name." };
        var id = new Argument<string>("id") { Description = "Instance id." };
        var address = new Option<string>("--address") { Description = "IP address or host name.", Required = true };
        var port = new Option<int>("--port") { Description = "Port.", Required = true };
        var scheme = new Option<string?>("--scheme") { Description = "http (default), https, grpc, ..." };
        var zone = new Option<string?>("--zone") { Description = "Zone, for zone-aware routing." };
        var version = new Option<string?>("--version") { Description = "Version of the service." };
        var weight = new Option<int?>("--weight") { Description = "Relative weight (default 100; 0 = no new traffic)." };
        var metadata = new Option<string[]>("--metadata", "-m") { Description = "key=value, repeatable.", AllowMultipleArgumentsPerToken = false };
        var ttl = new Option<int?>("--ttl") { Description = "Lease TTL in seconds: the instance expires unless renewed. Without it the instance is persistent." };
        var command = NodeCall.Create("register", "Register an instance (persistent unless --ttl is given).", namespaced: true);
        command.Add(service);
        command.Add(id);
        foreach (var option in (Option[])[address, port, scheme, zone, version, weight, metadata, ttl])
        {
            command.Add(option);
        }

        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            var pairs = MetadataOf(parse.GetValue(metadata) ?? []);
            var body = JsonBody(w =>
            {
                w.WriteString("address", parse.GetValue(address));
                w.WriteNumber("port", parse.GetValue(port));
                WriteIfSet(w, "scheme", parse.GetValue(scheme));
                WriteIfSet(w, "zone", parse.GetValue(zone));
                WriteIfSet(w, "version", parse.GetValue(version));
                if (parse.GetValue(weight) is { } weightValue)
                {
                    w.WriteNumber("weight", weightValue);
                }

                if (pairs.Count > 0)
                {
                    w.WriteStartObject("metadata");
                    foreach (var (key, value) in pairs)
                    {
                        w.WriteString(key, value);
                    }

                    w.WriteEndObject();
                }

                if (parse.GetValue(ttl) is { } ttlValue)
                {
                    w.WriteNumber("ttlSeconds", ttlValue);
                }
                else
                {
                    w.WriteBoolean("persistent", true);
                }
            });
            using var response = await node.Client.PutAsync(
                new Uri(InstancePath(node.Namespace, parse.GetValue(service)!, parse.GetValue(id)!), UriKind.Relative), body, ct).ConfigureAwait(false);
            await node.PrintInstanceAsync(response, "registered", ct).ConfigureAwait(false);
        }, ct));
        return command;
    }

    private static Dictionary<string, string> MetadataOf(string[] given)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in given)
        {
            var split = pair.IndexOf('=', StringComparison.Ordinal);
            if (split <= 0)
            {
                throw new CommandException($"--metadata expects key=value, got '{pair}'.", RosterCommandLine.BadArguments);
            }

            pairs[pair[..split]] = pair[(split + 1)..];
        }

        return pairs;
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
