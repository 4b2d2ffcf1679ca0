using System.CommandLine;
using System.IO.Compression;

namespace Roster.Cli.Commands;

/// <summary>
/// <c>roster debug dump [--pid PID] -f FILE</c>: what to grab from a sick node before restarting it (seed 002), in one
/// archive, without stopping the node: <c>debug.json</c>, the node's <c>GET /api/v1/debug</c> (its loops, queues,
/// counts, runtime figures, configuration without secrets and last log lines; needs an admin token when tokens are
/// on), and with <c>--pid</c> (run on the node's machine, as its user) <c>stacks.txt</c>, the managed stacks of every
/// thread and the async operations it waits in. Either part is written even when the other cannot be had.
/// </summary>
internal static class DebugCommand
{
    public static Command Create(TextWriter output)
    {
        var file = new Option<FileInfo>("--output-file", "-f") { Description = "The archive to write (a .zip).", Required = true };
        var pid = new Option<int?>("--pid") { Description = "The node's process id, on this machine: adds the managed stacks of all its threads." };
        var dump = NodeCall.Create("dump", "Save the node's state for a post-mortem, without stopping it: loops, queues, runtime figures, configuration (no secrets), last log lines.", namespaced: false);
        dump.Add(file);
        dump.Add(pid);
        dump.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            var parts = new List<(string Name, byte[] Content)>();
            var problems = new List<string>();
            try
            {
                using var response = await node.Client.GetAsync(new Uri("api/v1/debug", UriKind.Relative), ct).ConfigureAwait(false);
                await NodeCall.EnsureSuccessAsync(response, ct).ConfigureAwait(false);
                parts.Add(("debug.json", await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false)));
            }
            catch (Exception ex) when (parse.GetValue(pid) is not null && ex is CommandException or HttpRequestException or TaskCanceledException)
            {
                problems.Add($"debug.json: {ex.Message}");
            }

            if (parse.GetValue(pid) is { } processId)
            {
                try
                {
                    parts.Add(("stacks.txt", System.Text.Encoding.UTF8.GetBytes(await ManagedStacks.ReadAsync(processId, ct).ConfigureAwait(false))));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    problems.Add($"stacks.txt: {ex.GetType().Name}: {ex.Message}");
                }
            }

            if (problems.Count > 0)
            {
                parts.Add(("problems.txt", System.Text.Encoding.UTF8.GetBytes(string.Join('\n', problems) + "\n")));
            }

            var target = parse.GetValue(file)!;
            await using (var stream = target.Create())
            {
                var archive = await ZipArchive.CreateAsync(stream, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct).ConfigureAwait(false);
                await using (archive.ConfigureAwait(false))
                {
                    foreach (var (name, content) in parts)
                    {
                        var entry = archive.CreateEntry(name, CompressionLevel.Fastest);
                        var writer = await entry.OpenAsync(ct).ConfigureAwait(false);
                        await using (writer.ConfigureAwait(false))
                        {
                            await writer.WriteAsync(content, ct).ConfigureAwait(false);
                        }
                    }
                }
            }

            target.Refresh();
            await node.Output.WriteLineAsync($"wrote {target.FullName} ({target.Length:N0} bytes): {string.Join(", ", parts.Select(p => p.Name))}").ConfigureAwait(false);
        }, ct));

        return new Command("debug", "Diagnose a node.") { dump };
    }
}
