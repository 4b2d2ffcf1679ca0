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
    private readonly List<RosterProcess> _nodes = [];
    private readonly List<string> _directories = [];
    private BusOptions _bus = null!;

    public async Task InitializeAsync()
    {
        Assert.True(brokers.Cluster.OwnsBrokers, "These tests kill brokers: run them on the fixture's own brokers (without ROSTER_TEST_BROKERS).");
        _bus = brokers.NewBus("broker-failure");
        for (var i = 0; i < 3; i++)
        {
            _directories.Add(Path.Combine(Path.GetTempPath(), "roster-cluster-node-" + Guid.NewGuid().ToString("N")[..8]));
            _nodes.Add(await RosterProcess.StartAsync(
                _directories[i],
                "--cluster", string.Join(',', _bus.Brokers),
                $"--Roster:Cluster:StreamName={_bus.StreamName}",
                $"--Roster:Cluster:MembersExchange={_bus.MembersExchange}"));
        }
    }

    [Fact]
    public async Task Killing_the_stream_leader_during_writes_loses_and_repeats_nothing_acknowledged()
    {
        var history = new WriteHistory();
        var addresses = _nodes.Select(n => n.Address).ToList();
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
                    var leader = await brokers.Cluster.LeaderOfAsync(_bus.StreamName);
                    brokers.Cluster.Kill(leader);
                    killed.SetResult();
                }

                await history.RegisterAsync(_nodes, writer % 3, $"svc{writer}", $"w{writer}-{op % 20}", 10_000 + op);
            }
        })).ToList();
        await Task.WhenAll(writes);
        Assert.True(killed.Task.IsCompleted);

        await AssertConvergedAsync(history, watchers);
        Assert.True(history.Acknowledged >= 600);
        var reconnects = 0L;
        foreach (var node in _nodes)
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

    /// <summary>A last write at every node, then: every node reaches all of them and holds the same registry; that
    /// registry passes the write history; every watcher's view equals it and its history broke no rule.</summary>
    private async Task AssertConvergedAsync(WriteHistory history, List<WatchRecorder> watchers)
    {
        long end = 0;
        for (var i = 0; i < _nodes.Count; i++)
        {
            await history.RegisterAsync(_nodes, i, "marker", $"end-{i}", 1);
        }

        foreach (var node in _nodes)
        {
            end = Math.Max(end, (await GetJsonAsync(node, "/api/v1/status")).GetProperty("revision").GetInt64());
        }

        var registries = new List<Dictionary<string, string>>();
        foreach (var node in _nodes)
        {
            await Eventually.TrueAsync(async () => (await GetJsonAsync(node, "/api/v1/status")).GetProperty("revision").GetInt64() >= end, "every node applies the last writes", TimeSpan.FromSeconds(30));
            registries.Add(await RegistryOfAsync(node));
        }

        Assert.Equal(registries[0], registries[1]);
        Assert.Equal(registries[0], registries[2]);
        var ports = registries[0].ToDictionary(e => e.Key, e => int.Parse(e.Value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Empty(history.Check(ports));

        foreach (var watcher in watchers)
        {
            await Eventually.TrueAsync(() => watcher.Revision >= end, "every watcher reaches the last writes", TimeSpan.FromSeconds(30));
            Assert.Empty(watcher.Violations);
            Assert.Equal(0, watcher.ResetsAfterStart);
            var seen = watcher.Services.SelectMany(s => watcher.ViewOf(s).Instances.Select(i => (Key: s + "/" + i.Key, i.Value))).ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal(registries[0], seen);
        }
    }

    /// <summary>Every instance of namespace <c>default</c> at <paramref name="node"/>: service/id → port, incarnation, drained.</summary>
    private static async Task<Dictionary<string, string>> RegistryOfAsync(RosterProcess node)
    {
        var registry = new Dictionary<string, string>(StringComparer.Ordinal);
        var services = await GetJsonAsync(node, "/api/v1/namespaces/default/services");
        foreach (var service in services.GetProperty("services").EnumerateArray())
        {
            var name = service.GetProperty("name").GetString()!;
            var snapshot = await GetJsonAsync(node, $"/api/v1/namespaces/default/services/{name}");
            foreach (var instance in snapshot.GetProperty("instances").EnumerateArray())
            {
                registry[name + "/" + instance.GetProperty("id").GetString()] = WatchRecorder.Describe(instance);
            }
        }

        return registry;
    }

    private static async Task<JsonElement> GetJsonAsync(RosterProcess node, string path)
    {
        using var response = await node.Client.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }

        // The other tests of the collection share these brokers: bring back any that a test killed.
        await brokers.Cluster.RestartKilledAsync();
    }
}
