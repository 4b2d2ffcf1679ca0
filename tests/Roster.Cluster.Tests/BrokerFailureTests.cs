using System.Net.Http.Json;
using System.Text.Json;
using Roster.Cluster.Tests.History;
using Xunit.Abstractions;

namespace Roster.Cluster.Tests;

/// <summary>
/// Brokers failing under a three-node cluster that is being written to and watched. Every scenario ends with
/// the history checks: no acknowledged write lost or applied twice, every watcher's history ordered, unique,
/// gapless per service, resumable, and equal to the final registry; every node the same registry.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class BrokerFailureTests(BrokersFixture brokers, ITestOutputHelper output) : IAsyncLifetime
{

    private ClusterProcesses _cluster = null!;

    private List<RosterProcess> Nodes => _cluster.Nodes;

    public async Task InitializeAsync()
    {
        Assert.True(brokers.Cluster.OwnsBrokers, "These tests kill brokers: run them on the fixture's own brokers (without ROSTER_TEST_BROKERS).");
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("broker-failure"));
    }

    [Fact]
    public async Task Killing_the_stream_leader_during_writes_loses_and_repeats_nothing_acknowledged()
    {
        var history = new WriteHistory();
        var addresses = Nodes.Select(n => n.Address).ToList();
        var watchers = Enumerable.Range(0, 3).Select(i => new WatchRecorder(addresses, i, "default")).ToList();
        watchers.ForEach(w => w.Start());

        // Four writers, each owning its instances, register and re-register them (a new port is a new incarnation).
        var killed = new TaskCompletionSource();
        var writes = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            for (var op = 0; op < 150; op++)
            {
                if (op == 50 && writer == 0)
                {
                    var leader = await brokers.Cluster.LeaderOfAsync(_cluster.Bus.StreamName);
                    brokers.Cluster.Kill(leader);
                    killed.SetResult();
                }

                await history.RegisterAsync(Nodes, writer % 3, $"svc{writer}", $"w{writer}-{op % 20}", 10_000 + op);
            }
        })).ToList();
        await Task.WhenAll(writes);
        Assert.True(killed.Task.IsCompleted);

        await AssertConvergedAsync(history, watchers);
        Assert.True(history.Acknowledged >= 600);
        var reconnects = 0L;
        foreach (var node in Nodes)
        {
            reconnects += (await GetJsonAsync(node, "/api/v1/status")).GetProperty("busReconnects").GetInt64();
        }

        output.WriteLine($"{history.Acknowledged} writes acknowledged, {history.Unknown} with an unknown outcome, {reconnects} bus reconnects, {watchers.Sum(w => w.Events)} events watched");
        Assert.True(reconnects > 0, "some node was connected to the killed broker");
        foreach (var watcher in watchers)
        {
            await watcher.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_every_broker_down_for_30_seconds_reads_and_watches_go_on_writes_get_503_and_nothing_expires()
    {
        var history = new WriteHistory();
        for (var i = 0; i < 100; i++)
        {
            await history.RegisterAsync(Nodes, i % 3, "orders", $"i{i}", 5000 + i, ttlSeconds: 4);
        }

        var addresses = Nodes.Select(n => n.Address).ToList();
        var watchers = Enumerable.Range(0, 3).Select(i => new WatchRecorder(addresses, i, "default")).ToList();
        watchers.ForEach(w => w.Start());
        await Eventually.TrueAsync(() => watchers.All(w => w.ViewOf("orders").Instances.Count == 100), "the watchers hold every instance", TimeSpan.FromSeconds(20));

        // The providers keep renewing at the node they registered at, through the whole outage.
        using var agents = new CancellationTokenSource();
        var renewals = Enumerable.Range(0, 3).Select(n => RenewAsync(Nodes[n], Enumerable.Range(0, 100).Where(i => i % 3 == n).Select(i => $"i{i}").ToList(), agents.Token)).ToList();

        brokers.Cluster.KillAll();
        var outage = System.Diagnostics.Stopwatch.StartNew();
        var refusedWrites = 0;
        while (outage.Elapsed < TimeSpan.FromSeconds(30))
        {
            foreach (var node in Nodes)
            {
                // Reads are served from memory, saying how stale they may be; nothing has expired.
                using var read = await node.Client.GetAsync(new Uri("/api/v1/namespaces/default/services/orders", UriKind.Relative));
                Assert.True(read.IsSuccessStatusCode);
                Assert.Equal(100, (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instances").GetArrayLength());
                if (outage.Elapsed > TimeSpan.FromSeconds(5))
                {
                    Assert.True(read.Headers.Contains("Roster-Stale-Seconds"), "a read during the outage says how stale it is");
                    Assert.Equal("bus-unavailable", (await GetJsonAsync(node, "/api/v1/status")).GetProperty("status").GetString());

                    // Writes are refused, with a Retry-After, and change nothing.
                    using var write = await node.Client.PutAsync(
                        new Uri("/api/v1/namespaces/default/services/orders/instances/during-outage", UriKind.Relative),
                        JsonContent.Create(new { address = "10.0.0.9", port = 1, ttlSeconds = 4 }));
                    Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, write.StatusCode);
                    Assert.NotNull(write.Headers.RetryAfter);
                    refusedWrites++;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        await brokers.Cluster.RestartKilledAsync();
        output.WriteLine($"brokers back {outage.ElapsedMilliseconds} ms after they were killed; {refusedWrites} writes refused meanwhile");

        // Every node reconnects, catches up and takes writes again.
        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => (await GetJsonAsync(node, "/api/v1/status")).GetProperty("status").GetString() == "live", "every node is live again", TimeSpan.FromSeconds(60));
        }

        output.WriteLine($"every node live again {outage.ElapsedMilliseconds} ms after the brokers were killed");
        await AssertConvergedAsync(history, watchers);
        await agents.CancelAsync();
        Assert.All(await Task.WhenAll(renewals), notOk => Assert.Equal(0, notOk));
        foreach (var watcher in watchers)
        {
            Assert.Equal(100, watcher.ViewOf("orders").Instances.Count);
            await watcher.DisposeAsync();
        }
    }

    /// <summary>An agent renewing <paramref name="ids"/> every second at <paramref name="node"/>; returns how many answers were not <c>ok</c>.</summary>
    private static async Task<int> RenewAsync(RosterProcess node, List<string> ids, CancellationToken cancellationToken)
    {
        var incarnations = new Dictionary<string, long>();
        foreach (var id in ids)
        {
            incarnations[id] = (await GetJsonAsync(node, $"/api/v1/namespaces/default/services/orders/instances/{id}")).GetProperty("incarnation").GetInt64();
        }

        var body = new { leases = incarnations.Select(i => new { @namespace = "default", service = "orders", id = i.Key, incarnation = i.Value }).ToArray() };
        var notOk = 0;
        try
        {
            while (true)
            {
                using var response = await node.Client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), JsonContent.Create(body), cancellationToken);
                var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                notOk += answer.GetProperty("results").EnumerateArray().Count(r => r.GetString() != "ok");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return notOk;
        }
    }

    private static Task<JsonElement> GetJsonAsync(RosterProcess node, string path) => ClusterChecks.GetJsonAsync(node, path);

    private Task AssertConvergedAsync(WriteHistory history, List<WatchRecorder> watchers) => ClusterChecks.AssertConvergedAsync(Nodes, history, watchers);

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();

        // The other tests of the collection share these brokers: bring back any that a test killed.
        await brokers.Cluster.RestartKilledAsync();
    }
}
