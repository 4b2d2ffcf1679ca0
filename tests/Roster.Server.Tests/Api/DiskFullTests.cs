using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>
/// A node whose data directory is on a small tmpfs that fills up: writes answer 503 with
/// <c>Retry-After</c> and a problem saying the disk is full, the node says so (status, metric), reads go
/// on, no partial file is left behind, writes succeed again by themselves once space returns, and every
/// acknowledged write survives a restart. Mounting needs root, as on the machines CI runs on.
/// </summary>
[Collection(Support.MeasuredProcesses.Name)]
public sealed class DiskFullTests : IAsyncLifetime
{
    private readonly string _mount = Path.Combine(Path.GetTempPath(), "roster-full-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_mount);
        var (exit, error) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", _mount);
        Assert.True(exit == 0, $"mounting a 4 MiB tmpfs at {_mount} failed (this test needs root): {error}");
    }

    public async Task DisposeAsync()
    {
        await RunAsync("umount", _mount);
        Directory.Delete(_mount, recursive: true);
    }

    [Fact]
    public async Task FullDisk_RefusesWritesWith503_ReportsIt_AndRecoversWhenSpaceReturns()
    {
        var data = Path.Combine(_mount, "data");
        var filler = Path.Combine(_mount, "filler");
        var acknowledged = new List<string>();
        await using (var server = await RosterTestServer.StartOnAsync(data))
        {
            for (var i = 0; i < 20; i++)
            {
                using var created = await server.RegisterAsync("prod", "orders", $"before-{i}", new { address = "10.0.0.1", port = 1000 + i, persistent = true });
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                acknowledged.Add($"before-{i}");
            }

            await FillAsync(filler);

            // The log's last page may still have room for a record or two; registrations with 3 KiB of
            // metadata soon need a new one.
            var metadata = Enumerable.Range(0, 3).ToDictionary(k => $"k{k}", _ => new string('m', 1000));
            HttpResponseMessage? refused = null;
            for (var i = 0; i < 50 && refused is null; i++)
            {
                var response = await server.RegisterAsync("prod", "orders", $"during-{i}", new { address = "10.0.0.2", port = 2000 + i, persistent = true, metadata });
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add($"during-{i}");
                    response.Dispose();
                }
                else
                {
                    refused = response;
                }
            }

            var revision = (await server.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64();
            using (refused)
            {
                Assert.NotNull(refused);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
                var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal("https://roster.dev/problems/disk-full", problem.GetProperty("type").GetString());
            }

            using (var again = await server.RegisterAsync("prod", "orders", "refused-again", new { address = "10.0.0.2", port = 2999, persistent = true, metadata }))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
            }

            var status = await server.GetJsonAsync("/api/v1/status");
            Assert.Equal("disk-full", status.GetProperty("storage").GetString());
            Assert.Equal(revision, status.GetProperty("revision").GetInt64());
            Assert.Contains("roster_storage_problem{roster_problem=\"disk-full\"} 1", await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
            using (var ready = await server.Client.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // reads and watches go on
            }

            Assert.Equal(acknowledged.Count, (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances").GetArrayLength());

            // Space returns: the next write succeeds, with nothing to restart.
            File.Delete(filler);
            using (var after = await server.RegisterAsync("prod", "orders", "after", new { address = "10.0.0.3", port = 3000, persistent = true }))
            {
                Assert.Equal(HttpStatusCode.Created, after.StatusCode);
                acknowledged.Add("after");
            }

            Assert.Equal("ok", (await server.GetJsonAsync("/api/v1/status")).GetProperty("storage").GetString());

            // Full again for the graceful stop: its checkpoint cannot be written and must leave nothing behind.
            await FillAsync(filler);
        }

        Assert.Empty(Directory.GetFiles(data, "*.tmp", SearchOption.AllDirectories));
        File.Delete(filler);

        await using var restarted = await RosterTestServer.StartOnAsync(data);
        var ids = (await restarted.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances").EnumerateArray()
            .Select(i => i.GetProperty("id").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), ids);
    }

    /// <summary>Writes a file until the file system has no space left.</summary>
    private static async Task FillAsync(string path)
    {
        var block = new byte[64 * 1024];
        await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 0);
        try
        {
            while (true)
            {
                await file.WriteAsync(block);
            }
        }
        catch (IOException)
        {
            // Full: what the test wanted.
        }

        try
        {
            // Whatever partial block remains too.
            while (true)
            {
                await file.WriteAsync(block.AsMemory(0, 512));
            }
        }
        catch (IOException)
        {
        }
    }

    private static async Task<(int Exit, string Error)> RunAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, error);
    }
}
