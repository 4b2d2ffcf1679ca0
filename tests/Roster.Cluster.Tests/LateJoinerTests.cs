using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Xunit.Abstractions;

namespace Roster.Cluster.Tests;

/// <summary>
/// A node that joins after the stream's retention dropped its first entries: it starts from the checkpoint on
/// the checkpoint stream, catches up, and only then says ready; a watcher that asks it all along never gets an
/// empty or partial list.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class LateJoinerTests(BrokersFixture brokers, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Instances = 500;

    // Each instance is registered this many times over (a new port each time): enough entries for checkpoints
    // (every max(300, 2 × instances) entries) and for retention to drop the stream's start.
    private const int Rounds = 8;

    private ClusterProcesses _cluster = null!;

    private List<RosterProcess> Nodes => _cluster.Nodes;

    public async Task InitializeAsync() =>
        _cluster = await ClusterProcesses.StartAsync(
            brokers.NewBus("late-joiner"),
            settings:
            [
                "--Roster:Cluster:MaxLengthBytes=600000",
                "--Roster:Cluster:SegmentBytes=60000",
                "--Roster:Node:CheckpointInterval=300",
            ]);

    [Fact]
    public async Task A_node_started_after_retention_dropped_entries_starts_from_a_checkpoint_and_is_ready_only_when_complete()
    {
        var first = (await GetJsonAsync(Nodes[0], "/api/v1/cluster")).GetProperty("stream").GetProperty("firstPosition").GetInt64();
        await Parallel.ForEachAsync(Enumerable.Range(0, Instances * Rounds), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, token) =>
        {
            var i = n % Instances;
            using var response = await Nodes[n % 3].Client.PutAsync(
                new Uri($"/api/v1/namespaces/default/services/svc{i % 10}/instances/i{i}", UriKind.Relative),
                JsonContent.Create(new { address = "10.0.0.1", port = 1000 + n, metadata = new { padding = new string('x', 200) } }),
                token);
            Assert.True(
                response.IsSuccessStatusCode,
                $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(token)}\n" + string.Join('\n', Nodes[n % 3].Output().SkipWhile(l => !l.StartsWith("crit", StringComparison.Ordinal)).Take(12)));
        });

        // Retention (600 kB in 60 kB segments: more than the 1,000 entries between checkpoints) has dropped the
        // stream's first entries.
        var dropped = (await GetJsonAsync(Nodes[0], "/api/v1/cluster")).GetProperty("stream").GetProperty("firstPosition").GetInt64();
        output.WriteLine($"the stream's first position moved from {first} to {dropped}");
        Assert.True(dropped > first, $"retention dropped nothing (first position {dropped})");

        // A fourth node, watched from the moment it starts: every list it hands out is the whole registry.
        var port = FreePort();
        using var watching = new CancellationTokenSource();
        var lists = WatchFromTheStartAsync(port, watching.Token);
        var late = await _cluster.StartNodeAsync(port);
        Nodes.Add(late);

        var expected = await DigestsAsync(Nodes[0]);
        Assert.Equal(expected, await DigestsAsync(late));
        await Eventually.TrueAsync(() => !lists.Counts.IsEmpty, "a watch at the new node succeeded", TimeSpan.FromSeconds(20));
        await watching.CancelAsync();
        await lists.Task;
        output.WriteLine($"{lists.Refused} watches refused while the node was not ready, then lists of {string.Join(", ", lists.Counts.Distinct())} instances");
        Assert.All(lists.Counts, count => Assert.Equal(Instances, count));
        Assert.Contains("Starting from the cluster's checkpoint", string.Join('\n', late.Output()), StringComparison.Ordinal);
    }

    /// <summary>Opens watches at <paramref name="port"/> over and over from before the node listens; records the
    /// size of the list each successful one starts with, and how many were refused.</summary>
    private static WatchAttempts WatchFromTheStartAsync(int port, CancellationToken cancellationToken)
    {
        var attempts = new WatchAttempts();
        attempts.Task = Task.Run(async () =>
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.GetAsync(new Uri("/api/v1/namespaces/default/watch", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    if (!response.IsSuccessStatusCode)
                    {
                        attempts.Refused++;
                        continue;
                    }

                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                    while (await reader.ReadLineAsync(cancellationToken) is { } line)
                    {
                        if (line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            using var reset = JsonDocument.Parse(line[6..]);
                            attempts.Counts.Add(reset.RootElement.GetProperty("services").EnumerateArray().Sum(s => s.GetProperty("instances").GetArrayLength()));
                            break;
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        return attempts;
    }

    private sealed class WatchAttempts
    {
        public System.Collections.Concurrent.ConcurrentBag<int> Counts { get; } = [];

        public int Refused { get; set; }

        public Task Task { get; set; } = Task.CompletedTask;
    }

    private static async Task<string> DigestsAsync(RosterProcess node)
    {
        var services = await GetJsonAsync(node, "/api/v1/namespaces/default/services");
        return string.Join('\n', services.GetProperty("services").EnumerateArray().Select(s => $"{s.GetProperty("name").GetString()} {s.GetProperty("instances").GetInt32()} {s.GetProperty("digest").GetString()}"));
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Task<JsonElement> GetJsonAsync(RosterProcess node, string path) => History.ClusterChecks.GetJsonAsync(node, path);

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
    }
}
