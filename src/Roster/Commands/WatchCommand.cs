using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using static Roster.Cli.Commands.NodeSession;

namespace Roster.Cli.Commands;

/// <summary>
/// <c>roster watch SERVICE</c>: prints the service's list, then every change as it happens; with
/// <c>--exec CMD</c>, runs CMD after each change with the whole new list as JSON on its standard input
/// (and <c>ROSTER_NAMESPACE</c>, <c>ROSTER_SERVICE</c>, <c>ROSTER_REVISION</c> in its environment), the way
/// <c>consul watch</c> does.
/// </summary>
internal static class WatchCommand
{
    public static Command Create(TextWriter output)
    {
        var service = new Argument<string>("service") { Description = "Service name." };
        var since = new Option<long?>("--since") { Description = "Resume after this revision instead of starting with the full list." };
        var maxEvents = new Option<int?>("--max-events") { Description = "Stop after this many events." };
        var exec = new Option<string?>("--exec")
        {
            Description = "Run this shell command after each change, with the service's new list as JSON on its standard input.",
        };
        var command = NodeCall.Create("watch", "Print changes to a service as they happen (Ctrl+C to stop).", namespaced: true);
        command.Add(service);
        foreach (var option in (Option[])[since, maxEvents, exec])
        {
            command.Add(option);
        }

        command.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            node.Client.Timeout = Timeout.InfiniteTimeSpan;
            var name = parse.GetValue(service)!;
            var path = $"api/v1/namespaces/{Uri.EscapeDataString(node.Namespace)}/watch?service={Uri.EscapeDataString(name)}";
            if (parse.GetValue(since) is { } from)
            {
                path += $"&since={from}";
            }

            using var response = await node.Client.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            await NodeCall.EnsureSuccessAsync(response, ct).ConfigureAwait(false);
            var limit = parse.GetValue(maxEvents) ?? int.MaxValue;
            var list = parse.GetValue(exec) is { Length: > 0 } shellCommand ? new CurrentList(node.Namespace, name, shellCommand, parse.InvocationConfiguration.Error) : null;
            var seen = 0;
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync(node.Format == OutputFormat.Table ? Describe(item.EventType, item.Data) : item.Data).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
                if (list is not null && list.Apply(item.EventType, item.Data))
                {
                    await list.RunAsync(ct).ConfigureAwait(false);
                }

                if (item.EventType == "disconnect" || ++seen >= limit)
                {
                    break;
                }
            }
        }, ct));
        return command;
    }

    private static string Describe(string eventType, string data)
    {
        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            return eventType switch
            {
                "upsert" => $"{Text(root.GetProperty("revision"))} upsert {Text(root.GetProperty("service"))}/{Text(root.GetProperty("instance").GetProperty("id"))} " +
                            $"{Text(root.GetProperty("instance").GetProperty("address"))}:{Text(root.GetProperty("instance").GetProperty("port"))} {StateOf(root.GetProperty("instance"))}",
                "delete" => $"{Text(root.GetProperty("revision"))} delete {Text(root.GetProperty("service"))}/{Text(root.GetProperty("id"))} ({Text(root.GetProperty("reason"))})",
                "reset" => $"{Text(root.GetProperty("revision"))} reset " + string.Join(", ", root.GetProperty("services").EnumerateArray()
                    .Select(s => $"{Text(s.GetProperty("name"))}: {s.GetProperty("instances").GetArrayLength()} instances")),
                "disconnect" => $"disconnected ({Text(root.GetProperty("reason"))}); resume with --since {Text(root.GetProperty("resumeFrom"))}",
                _ => $"{eventType} {data}",
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"{eventType} {data}";
        }
    }

    /// <summary>The watched service's list, kept from the stream's events, and the command run after each change.</summary>
    private sealed class CurrentList(string @namespace, string service, string shellCommand, TextWriter error)
    {
        private readonly SortedDictionary<string, JsonElement> _instances = new(StringComparer.Ordinal);
        private long _revision;

        /// <summary>Applies one event; true when the list changed.</summary>
        public bool Apply(string eventType, string data)
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            switch (eventType)
            {
                case "reset":
                    _instances.Clear();
                    foreach (var listed in root.GetProperty("services").EnumerateArray().Where(s => s.GetProperty("name").GetString() == service))
                    {
                        foreach (var instance in listed.GetProperty("instances").EnumerateArray())
                        {
                            _instances[instance.GetProperty("id").GetString()!] = instance.Clone();
                        }
                    }

                    break;
                case "upsert":
                    var upserted = root.GetProperty("instance");
                    _instances[upserted.GetProperty("id").GetString()!] = upserted.Clone();
                    break;
                case "delete":
                    _instances.Remove(root.GetProperty("id").GetString()!);
                    break;
                default:
                    return false;
            }

            _revision = root.GetProperty("revision").GetInt64();
            return true;
        }

        /// <summary>Runs the command through the shell with the list on its standard input and waits for it; a failure is reported, not fatal.</summary>
        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var start = OperatingSystem.IsWindows() ? new ProcessStartInfo("cmd.exe") : new ProcessStartInfo("/bin/sh");
            start.ArgumentList.Add(OperatingSystem.IsWindows() ? "/c" : "-c");
            start.ArgumentList.Add(shellCommand);
            start.RedirectStandardInput = true;
            start.UseShellExecute = false;
            start.Environment["ROSTER_NAMESPACE"] = @namespace;
            start.Environment["ROSTER_SERVICE"] = service;
            start.Environment["ROSTER_REVISION"] = _revision.ToString(CultureInfo.InvariantCulture);
            using var process = Process.Start(start) ?? throw new CommandException($"--exec: could not start '{shellCommand}'.", RosterCommandLine.BadArguments);
            await using (var input = process.StandardInput)
            {
                await input.WriteLineAsync(ListJson()).ConfigureAwait(false);
            }

            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                await error.WriteLineAsync($"warning: --exec command exited with {process.ExitCode} at revision {_revision}; watching on").ConfigureAwait(false);
            }
        }

        private string ListJson()
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("namespace", @namespace);
                writer.WriteString("service", service);
                writer.WriteNumber("revision", _revision);
                writer.WriteStartArray("instances");
                foreach (var instance in _instances.Values)
                {
                    instance.WriteTo(writer);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
