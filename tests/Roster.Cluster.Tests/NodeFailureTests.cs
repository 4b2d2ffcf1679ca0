using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Roster.Cluster.Tests.History;
using Xunit.Abstractions;

namespace Roster.Cluster.Tests;

/// <summary>
/// A Roster node SIGKILLed under a three-node cluster: the leases it owned are kept when their providers fail
/// over to another node, and expire (within two TTLs and a second) when the providers died with it; its
/// watchers resume at other nodes without a gap or a reset.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class NodeFailureTests(BrokersFixture brokers, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(4);

    private ClusterProcesses _cluster = null!;

    private List<RosterProcess> Nodes => _cluster.Nodes;

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("node-failure"), settings: $"--Roster:Node:DefaultTtl={Ttl}");
    }

    [Fact]
    public async Task Providers_that_fail_over_keep_all_1000_instances_and_their_watchers_resume_elsewhere()
    {
        var instances = await RegisterAsync(Nodes[0], "orders", 1000);
        var addresses = Nodes.Select(n => n.Address).ToList();
        var watchers = new[] { new WatchRecorder(addresses, 0, "default"), new WatchRecorder(addresses, 0, "default"), new WatchRecorder(addresses, 1, "default") };
        foreach (var watcher in watchers)
        {
            watcher.Start();
        }

        await Eventually.TrueAsync(() => watchers.All(w => w.ViewOf("orders").Instances.Count == 1000), "the watchers hold every instance", TimeSpan.FromSeconds(20));

        // The providers' agents renew every second at the node they use, and move to the next node when it fails.
        using var agents = new CancellationTokenSource();
        var renewing = RenewAsync(instances, first: 0, agents.Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await Nodes[0].KillAsync();
        var killedAt = Stopwatch.StartNew();

        // A write after the kill: every watcher must see it, the two that were on the killed node from another one.
        await RegisterAsync(Nodes[1], "payments", 1);
        await Eventually.TrueAsync(() => watchers.All(w => w.ViewOf("payments").Instances.Count == 1), "every watcher follows on a live node", TimeSpan.FromSeconds(20));
        output.WriteLine($"watchers of the killed node got the next write from another node {killedAt.ElapsedMilliseconds} ms after the kill");

        // Three TTLs later nothing has expired, and the node the agents moved to owns the leases.
        await Eventually.TrueAsync(async () => (await StatusAsync(Nodes[1])).GetProperty("leases").GetInt32() >= 1000, "the leases move to the node the agents renew at", TimeSpan.FromSeconds(20));
        output.WriteLine($"leases owned again {killedAt.ElapsedMilliseconds} ms after the kill");
        await Task.Delay(Ttl * 3);
        await agents.CancelAsync();
        var failures = await renewing;
        Assert.Equal(0, failures);

        foreach (var node in Nodes.Skip(1))
        {
            var snapshot = await GetJsonAsync(node, "/api/v1/namespaces/default/services/orders");
            Assert.Equal(1000, snapshot.GetProperty("instances").GetArrayLength());
        }

        foreach (var watcher in watchers)
        {
            Assert.Empty(watcher.Violations);
            Assert.Equal(0, watcher.ResetsAfterStart);
            Assert.Equal(1000, watcher.ViewOf("orders").Instances.Count);
            await watcher.DisposeAsync();
        }
    }

    [Fact]
    public async Task Instances_of_providers_that_died_with_their_node_expire_within_two_ttls_and_a_second()
    {
        // 150 providers on node 0 die with it; 1,350 on node 1 keep renewing (so self-preservation, which weighs
        // expiries against the whole namespace, lets the 10 % go).
        var dying = await RegisterAsync(Nodes[0], "orders", 150, prefix: "dying");
        var living = await RegisterAsync(Nodes[1], "orders", 1350, prefix: "living");
        using var agents = new CancellationTokenSource();
        var renewingLiving = RenewAsync(living, first: 1, agents.Token);
        using (var dyingAgents = new CancellationTokenSource())
        {
            var renewingDying = RenewAsync(dying, first: 0, dyingAgents.Token, failOver: false);
            await Task.Delay(TimeSpan.FromSeconds(2));
            await Nodes[0].KillAsync();
            await dyingAgents.CancelAsync();
            await renewingDying;
        }

        var killedAt = Stopwatch.StartNew();
        await Eventually.TrueAsync(
            async () => (await GetJsonAsync(Nodes[1], "/api/v1/namespaces/default/services/orders")).GetProperty("instances").GetArrayLength() == 1350,
            "the dead providers' instances expire",
            Ttl * 4);
        var expiredAfter = killedAt.Elapsed;
        output.WriteLine($"150 instances of dead providers expired {expiredAfter.TotalMilliseconds:F0} ms after their node was killed (TTL {Ttl.TotalSeconds} s)");
        Assert.True(expiredAfter <= (Ttl * 2) + TimeSpan.FromSeconds(1), $"expired after {expiredAfter}");

        await agents.CancelAsync();
        Assert.Equal(0, await renewingLiving);
        var survivors = await GetJsonAsync(Nodes[2], "/api/v1/namespaces/default/services/orders");
        Assert.All(survivors.GetProperty("instances").EnumerateArray(), i => Assert.StartsWith("living", i.GetProperty("id").GetString(), StringComparison.Ordinal));
    }

    /// <summary>Registers <paramref name="count"/> leased instances at <paramref name="node"/>; returns id → incarnation.</summary>
    private static async Task<Dictionary<string, long>> RegisterAsync(RosterProcess node, string service, int count, string prefix = "i")
    {
        var incarnations = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
        {
            using var response = await node.Client.PutAsync(
                new Uri($"/api/v1/namespaces/default/services/{service}/instances/{prefix}{i}", UriKind.Relative),
                JsonContent.Create(new { address = "10.0.0.1", port = 1000 + i, ttlSeconds = (int)Ttl.TotalSeconds }),
                token);
            response.EnsureSuccessStatusCode();
            var instance = await response.Content.ReadFromJsonAsync<JsonElement>(token);
            incarnations[$"{service}/{prefix}{i}"] = instance.GetProperty("incarnation").GetInt64();
        });
        return new Dictionary<string, long>(incarnations);
    }

    /// <summary>
    /// The providers' agents: renew every lease every second at one node, moving to the next node when it does
    /// not answer (unless <paramref name="failOver"/> is false: providers that die with their node). Returns how
    /// many renewals were answered anything but <c>ok</c>.
    /// </summary>
    private async Task<int> RenewAsync(Dictionary<string, long> instances, int first, CancellationToken cancellationToken, bool failOver = true)
    {
        var body = new
        {
            leases = instances.Select(i => new { @namespace = "default", service = i.Key.Split('/')[0], id = i.Key.Split('/')[1], incarnation = i.Value }).ToArray(),
        };
        var node = first;
        var notOk = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var response = await Nodes[node].Client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), JsonContent.Create(body), cancellationToken);
                var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                notOk += answer.GetProperty("results").EnumerateArray().Count(r => r.GetString() != "ok");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (HttpRequestException) when (failOver)
            {
                node = (node + 1) % Nodes.Count;
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
            {
                return notOk;
            }
        }

        return notOk;
    }

    private static Task<JsonElement> StatusAsync(RosterProcess node) => GetJsonAsync(node, "/api/v1/status");

    private static Task<JsonElement> GetJsonAsync(RosterProcess node, string path) => ClusterChecks.GetJsonAsync(node, path);

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
    }
}
