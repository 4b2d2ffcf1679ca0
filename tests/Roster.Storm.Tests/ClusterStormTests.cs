using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Roster.Cluster;
using Xunit.Abstractions;

namespace Roster.Storm.Tests;

/// <summary>
/// The storms of <see cref="DeploymentStormTests"/> against a three-node cluster on its own RabbitMQ brokers: the
/// 5,000 providers are spread over the nodes (each prefers one and fails over to the others), register at once and
/// renew; then one node is SIGKILLed under them and started again on its port. The nodes that stay must keep
/// answering their probes; the restarted one must be ready within 10 s; no lease may expire, and every node's audit
/// must tell the same story: 5,000 registrations, nothing expired.
/// </summary>
[Collection(Storms.Name)]
public sealed class ClusterStormTests(ITestOutputHelper output) : IAsyncLifetime
{
    private BrokerCluster? _brokers;

    public async Task InitializeAsync() => _brokers = await BrokerCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_brokers is not null)
        {
            await _brokers.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_cluster_takes_a_deployment_storm_and_the_loss_of_a_node_under_it_without_losing_a_lease()
    {
        var bus = new BusOptions { StreamName = "roster.storm", MembersExchange = "roster.storm.members" };
        foreach (var broker in _brokers!.Addresses)
        {
            bus.Brokers.Add(broker);
        }

        await using var cluster = await ClusterProcesses.StartAsync(bus, 3, "--health-port", "0");
        var nodes = cluster.Nodes;
        using var sampler = NodeSampler.Start(() => [.. nodes]);

        var probes = (await Task.WhenAll(nodes.Select(n => HealthProbe.OnNewConnectionsAsync(n.HealthAddress!, Storms.HealthWithin)))).ToList();
        var apiProbes = nodes.Select(n => HealthProbe.OnKeptConnection(n.Address, Storms.ApiHealthWithin)).ToList();
        var storm = Stopwatch.StartNew();
        await using var fleet = ProviderFleet.Start([.. nodes.Select(n => n.Address)], Storms.Providers, "storm", Storms.TtlSeconds);
        try
        {
            await Eventually.TrueAsync(() => fleet.RegisteredCount == fleet.Size, "every provider is registered", Storms.AllRegisteredWithin);
            var registered = storm.Elapsed;
            var registeredAt = Stopwatch.GetTimestamp();
            var incarnations = fleet.Incarnations();
            await Eventually.TrueAsync(() => fleet.RenewedSince(registeredAt, incarnations) == fleet.Size, "every provider renewed", Storms.RenewalRoundWithin);
            output.WriteLine($"storm: {fleet.Size} registered after {registered.TotalSeconds:F1} s, all renewed after {storm.Elapsed.TotalSeconds:F1} s; " +
                $"{sampler.MostConnections} connections at most over the three nodes, {sampler.MostResidentBytes / 1048576} MiB resident at most in one; " +
                $"/healthz longest {string.Join(" / ", probes.Select(p => $"{p.Result().Longest.TotalMilliseconds:F0}"))} ms on the probe ports, " +
                $"{string.Join(" / ", apiProbes.Select(p => $"{p.Result().Longest.TotalMilliseconds:F0}"))} ms on the API ports; {fleet.Responses()}");
            var pauses = new List<string>();
            foreach (var node in nodes)
            {
                var gc = (await node.Client.GetFromJsonAsync<JsonElement>("/api/v1/debug")).GetProperty("gc");
                pauses.Add($"{gc.GetProperty("pausedMilliseconds")} ms (last ephemeral {gc.GetProperty("lastEphemeralPausesMs")})");
            }

            output.WriteLine($"the nodes' GC paused {string.Join(" / ", pauses)}");
            for (var i = 0; i < nodes.Count; i++)
            {
                Storms.AssertHealthy(probes[i], $"on node {i}'s probe port during the storm");
                Storms.AssertHealthy(apiProbes[i], $"on node {i}'s API port during the storm");
            }

            Storms.AssertOnlyShed(fleet.Responses());
            Assert.True(sampler.MostConnections >= Storms.LeastConnections, $"{sampler.MostConnections} connections at most, fewer than {Storms.LeastConnections}");
            Assert.True(sampler.MostResidentBytes <= Storms.MostResidentBytes, $"{sampler.MostResidentBytes / 1048576} MiB resident, over the bound of {Storms.MostResidentBytes / 1048576} MiB");

            // Node 0 is SIGKILLed while everyone renews; its providers fail over; it is started again at once.
            var spread = nodes.Select(n => NodeSampler.EstablishedTo([n.Address.Port])).ToList();
            var leases = new List<int>();
            foreach (var node in nodes)
            {
                leases.Add((await node.Client.GetFromJsonAsync<JsonElement>("/api/v1/status")).GetProperty("leases").GetInt32());
            }

            output.WriteLine($"before the kill: connections per node {string.Join(" / ", spread)}, leases per node {string.Join(" / ", leases)}");
            await Storms.UntilARenewalRoundIsUnderwayAsync(fleet);

            await probes[0].DisposeAsync();
            await apiProbes[0].DisposeAsync();
            var before = fleet.Incarnations();
            await nodes[0].KillAsync();
            var restart = Stopwatch.StartNew();
            await cluster.StartAgainOnItsPortAsync(0);
            var ready = restart.Elapsed;

            var readyAt = Stopwatch.GetTimestamp();
            probes[0] = await HealthProbe.OnNewConnectionsAsync(nodes[0].HealthAddress!, Storms.HealthWithin);
            apiProbes[0] = HealthProbe.OnKeptConnection(nodes[0].Address, Storms.ApiHealthWithin);
            await Eventually.TrueAsync(() => fleet.RenewedSince(readyAt, before) == fleet.Size, "every provider renewed its lease after the node came back", Storms.AllRenewedAfterRestartWithin);
            output.WriteLine($"node 0 killed: ready again after {ready.TotalSeconds:F1} s, every provider renewed ok after {restart.Elapsed.TotalSeconds:F1} s; " +
                $"/healthz longest {string.Join(" / ", probes.Select(p => $"{p.Result().Longest.TotalMilliseconds:F0}"))} ms on the probe ports; {fleet.Responses()}");
            for (var i = 0; i < nodes.Count; i++)
            {
                Storms.AssertHealthy(probes[i], $"on node {i}'s probe port after node 0 was killed");
                Storms.AssertHealthy(apiProbes[i], $"on node {i}'s API port after node 0 was killed");
            }

            Assert.True(ready <= Storms.ReadyWithin, $"node 0 ready {ready.TotalSeconds:F1} s after it was started again");
            Assert.True(fleet.Responses().Unanswered > 0, "no provider called the killed node while it was down");
            Storms.AssertOnlyShed(fleet.Responses());

            // Every node tells the same story, once it has applied everything.
            var expected = new AuditCounts(fleet.Size, Expiries: 0, Deregisters: 0, Complete: true);
            foreach (var node in nodes)
            {
                Assert.Equal(expected, await AuditCounts.ReadAsync(node.Client, "storm"));
            }
        }
        finally
        {
            foreach (var probe in probes.Concat(apiProbes))
            {
                await probe.DisposeAsync();
            }
        }
    }
}
