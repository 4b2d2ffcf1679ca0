using System.CommandLine;
using System.IO.Compression;

namespace Roster.Cli.Commands;

/// <summary>
/// <c>roster debug dump -o FILE</c>: what to grab from a sick node before restarting it (seed 002), in one archive,
/// without stopping the node: <c>debug.json</c>, the node's <c>GET /api/v1/debug</c> (its loops, queues, counts,
/// runtime figures, configuration without secrets and last log lines). Needs an admin token when tokens are on.
/// </summary>
internal static class DebugCommand
{
    public static Command Create(TextWriter output)
    {
        var file = new Option<FileInfo>("--output-file", "-f") { Description = "The archive to write (a .zip).", Required = true };
        var dump = NodeCall.Create("dump", "Save the node's state for a post-mortem, without stopping it: loops, queues, runtime figures, configuration (no secrets), last log lines.", namespaced: false);
        dump.Add(file);
        dump.SetAction((parse, ct) => NodeCall.RunAsync(parse, output, async node =>
        {
            using var response = await node.Client.GetAsync(new Uri("api/v1/debug", UriKind.Relative), ct).ConfigureAwait(false);
            await NodeCall.EnsureSuccessAsync(response, ct).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            var target = parse.GetValue(file)!;
            await using (var stream = target.Create())
            {
                var archive = await ZipArchive.CreateAsync(stream, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct).ConfigureAwait(false);
                await using (archive.ConfigureAwait(false))
                {
                    var entry = archive.CreateEntry("debug.json", CompressionLevel.Fastest);
                    var writer = await entry.OpenAsync(ct).ConfigureAwait(false);
                    await using (writer.ConfigureAwait(false))
                    {
                        await writer.WriteAsync(body, ct).ConfigureAwait(false);
                    }
                }
            }

            target.Refresh();
            await node.Output.WriteLineAsync($"wrote {target.FullName} ({target.Length:N0} bytes): debug.json").ConfigureAwait(false);
        }, ct));

        return new Command("debug", "Diagnose a node.") { dump };
    }
}
