using System.Net.Http.Json;
using System.Text.Json;
using System.Diagnostics;
using Xunit.Abstractions;

namespace Roster.Storm.Tests;

/// <summary>
/// Seed 001's outage, replayed against a roster process: a deployment makes 5,000 providers register at the same
/// moment, each on a connection of its own, and renew; then the node is SIGKILLed while they renew and started again
/// at once, with every provider reconnecting and renewing together. The node must turn the excess away (503 with
/// Retry-After, nothing else), keep answering <c>/healthz</c>, stay within a memory bound, take every provider within
/// a minute, come back ready within 10 s, and lose no lease.
/// </summary>
[Collection(Storms.Name)]
public sealed class DeploymentStormTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "roster-storm-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dataDirectory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_node_takes_a_deployment_storm_and_a_restart_under_it_without_collapsing_or_losing_a_lease()
    {
        string[] settings = ["--health-port", "0"];
        var node = await RosterProcess.StartAsync(_dataDirectory, settings);
        try
        {
            var port = node.Address.Port;
            using var sampler = NodeSampler.Start(() => [node]);

            // The deployment: every provider starts at once.
            var probe = await HealthProbe.OnNewConnectionsAsync(node.HealthAddress!, Storms.HealthWithin);
            var apiProbe = HealthProbe.OnKeptConnection(node.Address, Storms.ApiHealthWithin);
            var storm = Stopwatch.StartNew();
            await using var fleet = ProviderFleet.Start([node.Address], Storms.Providers, "storm", Storms.TtlSeconds);
            await using (var health = probe)
            await using (var apiHealth = apiProbe)
            {
                await Eventually.TrueAsync(() => fleet.RegisteredCount == fleet.Size, "every provider is registered", Storms.AllRegisteredWithin);
                var registered = storm.Elapsed;

                // Every provider renews at least once, so every connection is open together.
                var registeredAt = Stopwatch.GetTimestamp();
                var incarnations = fleet.Incarnations();
                await Eventually.TrueAsync(() => fleet.RenewedSince(registeredAt, incarnations) == fleet.Size, "every provider renewed", Storms.RenewalRoundWithin);
                var gc = (await node.Client.GetFromJsonAsync<JsonElement>("/api/v1/debug")).GetProperty("gc");
                output.WriteLine($"storm: {fleet.Size} registered after {registered.TotalSeconds:F1} s, all renewed after {storm.Elapsed.TotalSeconds:F1} s; " +
                    $"{sampler.MostConnections} connections at most, {sampler.MostResidentBytes / 1048576} MiB resident at most; " +
                    $"/healthz on the probe port {health.Result().Answered} answers, longest {health.Result().Longest.TotalMilliseconds:F0} ms, " +
                    $"on the API port longest {apiHealth.Result().Longest.TotalMilliseconds:F0} ms; {fleet.Responses()}; node's GC paused {gc.GetProperty("pausedMilliseconds")} ms");
                Storms.AssertHealthy(health, "on the probe port during the storm");
                Storms.AssertHealthy(apiHealth, "on the API port during the storm");
            }

            Storms.AssertOnlyShed(fleet.Responses());
            Assert.True(sampler.MostConnections >= Storms.LeastConnections, $"{sampler.MostConnections} connections at most, fewer than {Storms.LeastConnections}");
            Assert.True(sampler.MostResidentBytes <= Storms.MostResidentBytes, $"{sampler.MostResidentBytes / 1048576} MiB resident, over the bound of {Storms.MostResidentBytes / 1048576} MiB");

            // The restart: SIGKILL while everyone renews, started again at once on the same port.
            await Storms.UntilARenewalRoundIsUnderwayAsync(fleet);
            var before = fleet.Incarnations();
            await node.KillAsync();
            var restart = Stopwatch.StartNew();
            node = await RosterProcess.StartOnPortAsync(port, _dataDirectory, settings);
            var ready = restart.Elapsed;
            var readyAt = Stopwatch.GetTimestamp();
            await using (var health = await HealthProbe.OnNewConnectionsAsync(node.HealthAddress!, Storms.HealthWithin))
            await using (var apiHealth = HealthProbe.OnKeptConnection(node.Address, Storms.ApiHealthWithin))
            {
                await Eventually.TrueAsync(() => fleet.RenewedSince(readyAt, before) == fleet.Size, "every provider renewed its lease on the restarted node", Storms.AllRenewedAfterRestartWithin);
                output.WriteLine($"restart: ready after {ready.TotalSeconds:F1} s, every provider renewed ok after {restart.Elapsed.TotalSeconds:F1} s; " +
                    $"/healthz longest {health.Result().Longest.TotalMilliseconds:F0} ms on the probe port, {apiHealth.Result().Longest.TotalMilliseconds:F0} ms on the API port; {fleet.Responses()}");
                Storms.AssertHealthy(health, "on the probe port after the restart");
                Storms.AssertHealthy(apiHealth, "on the API port after the restart");
            }

            Assert.True(ready <= Storms.ReadyWithin, $"ready {ready.TotalSeconds:F1} s after the restart");
            Assert.True(fleet.Responses().Unanswered > 0, "no provider called the node while it was down");
            Storms.AssertOnlyShed(fleet.Responses());
            var audit = await AuditCounts.ReadAsync(node.Client, "storm");
            Assert.Equal(new AuditCounts(fleet.Size, Expiries: 0, Deregisters: 0, Complete: true), audit);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
