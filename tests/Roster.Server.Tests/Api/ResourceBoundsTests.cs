using System.Net;
using System.Net.Sockets;
using System.Text;
using Roster.Server.Tests.Support;

namespace Roster.Server.Tests.Api;

/// <summary>
/// Findings 5, 8 and 14 of the integrity issue, against a real <c>roster serve</c> process whose memory is
/// read from /proc: request bodies that stall, watchers that never read, and a flood of bad bodies must not
/// grow the node without bound or fill its log.
/// </summary>
[Collection(MeasuredProcesses.Name)]
public sealed class ResourceBoundsTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const long MiB = 1024 * 1024;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "roster-bounds-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task StalledLargeBodies_FromCallersWithAndWithoutAToken_StayWithinTheBodyBudget()
    {
        await using var roster = await RosterProcess.StartAsync(
            _directory, "--Roster:Auth:Tokens:0:Token=bounds-token", "--Roster:Auth:Tokens:0:Namespaces:0=*", "--Roster:Auth:Tokens:0:Write=true");
        var before = roster.ResidentBytes();

        // 100 connections, half without a token, each sending 8 MiB of a renewal body and then stalling. Before
        // the body budget this took the node from 116 MB to 909 MB; with it, 70 MiB grew to 157 to 224 MiB here.
        var stalled = new List<TcpClient>();
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)' ');
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
            {
                var client = new TcpClient();
                lock (stalled)
                {
                    stalled.Add(client);
                }

                await client.ConnectAsync(roster.Address.Host, roster.Address.Port);
                var stream = client.GetStream();
                var auth = i % 2 == 0 ? "Authorization: Bearer bounds-token\r\n" : string.Empty;
                // Just under the 8 MiB limit for renewals, and all but the last kilobyte of it sent.
                var length = (8 * MiB) - 1024;
                var head = $"POST /api/v1/leases/renew HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n";
                try
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                    for (var sent = 0L; sent < length - 1024; sent += chunk.Length)
                    {
                        var part = (int)Math.Min(chunk.Length, length - 1024 - sent);
                        await stream.WriteAsync(chunk.AsMemory(0, part)).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or TimeoutException)
                {
                    // Refused early (401 without a token, 503 over the budget) and closed: what should happen.
                }
            }));

            var during = roster.ResidentBytes();
            output.WriteLine($"RSS {before / MiB} MiB before, {during / MiB} MiB with 100 stalled 8 MiB bodies");

            // The node still answers at once.
            using var status = await roster.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            Assert.True(during - before < 300 * MiB, $"RSS grew {(during - before) / MiB} MiB while 100 x 8 MiB bodies stalled (before {before / MiB} MiB)");
        }
        finally
        {
            foreach (var client in stalled)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task WatchersThatNeverRead_AreDroppedAndDisconnected_AndTheirMemoryIsBounded()
    {
        await using var roster = await RosterProcess.StartAsync(_directory, "--Roster:Node:WatchQueueCapacity=64");
        var before = roster.ResidentBytes();
        var watchers = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var client = new TcpClient { ReceiveBufferSize = 4096 };
                await client.ConnectAsync(roster.Address.Host, roster.Address.Port);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /api/v1/namespaces/prod/watch HTTP/1.1\r\nHost: x\r\n\r\n"));
                watchers.Add(client);
            }

            // Changes with large metadata until every watcher has fallen behind and been dropped.
            var metadata = Enumerable.Range(0, 30).ToDictionary(k => $"k{k}", _ => new string('m', 100));
            var dropped = 0.0;
            using (var http = new HttpClient { BaseAddress = roster.Address })
            {
                for (var round = 0; round < 60 && dropped < 300; round++)
                {
                    await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
                    {
                        using var content = RosterTestServer.Json(new { address = "10.0.0.1", port = 1 + i, metadata = metadata.Append(new("round", $"{round}")).ToDictionary() });
                        using var response = await http.PutAsync(new Uri($"/api/v1/namespaces/prod/services/orders/instances/i{i}", UriKind.Relative), content);
                        response.EnsureSuccessStatusCode();
                    }));
                    dropped = await MetricAsync(http, "roster_watchers_dropped_total");
                }
            }

            Assert.Equal(300, dropped);

            // Their connections are closed by the node, not left to clients that will never close them.
            await Eventually.TrueAsync(() => EstablishedConnections(roster.Pid, roster.Address.Port) < 10, "the node closes the dropped watchers' connections after their grace", TimeSpan.FromSeconds(40));
            var after = roster.ResidentBytes();
            output.WriteLine($"RSS {before / MiB} MiB before, {after / MiB} MiB after 300 watchers were dropped");
            Assert.True(after - before < 250 * MiB, $"RSS grew {(after - before) / MiB} MiB with 300 dropped watchers");
        }
        finally
        {
            foreach (var client in watchers)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task AThousandMalformedBodies_LogAFewShortLines_NotAThousandFailures()
    {
        await using var roster = await RosterProcess.StartAsync(_directory);
        await Task.WhenAll(Enumerable.Range(0, 1000).Select(async _ =>
        {
            var (status, _, _) = await RawHttp.SendAsync(roster.Address,
                "POST /api/v1/leases/renew HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\nTransfer-Encoding: chunked\n\nffffffffffffffff\n{}\n0\n\n");
            Assert.Equal(400, status);
        }));

        // Let the output reach the test.
        using var health = await roster.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        var output = roster.Output();
        Assert.DoesNotContain(output, line => line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal));
        var refusals = output.Count(line => line.Contains("Refused a request from", StringComparison.Ordinal));
        Assert.InRange(refusals, 1, 20);
        Assert.True(output.Count < 200, $"{output.Count} lines of output for 1,000 bad requests");
    }

    private static async Task<double> MetricAsync(HttpClient http, string name)
    {
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Established TCP connections on <paramref name="port"/> that process <paramref name="pid"/> still holds
    /// (its socket inodes under /proc/PID/fd). A socket the process has closed may linger in the kernel while
    /// it tries to deliver what a client never reads, but it holds nothing of the process's.
    /// </summary>
    private static int EstablishedConnections(int pid, int port)
    {
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                owned.Add(target["socket:[".Length..^1]);
            }
        }

        var hexPort = port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => f[1].EndsWith(":" + hexPort, StringComparison.Ordinal) && f[3] == "01" && owned.Contains(f[9]));
    }
}
