using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Roster.Core.Diagnostics;
using Roster.Server.Diagnostics;

namespace Roster.Server.Tests.Diagnostics;

/// <summary>
/// The node's instruments (meter <c>Roster.Server</c>, scoped to the node's own meter factory, and the core's
/// <c>Roster.Core</c>), each made to move by what a client does to a real node.
/// </summary>
public sealed class ServerTelemetryTests
{
    [Fact]
    public async Task Instances_leases_changes_watchers_status_and_log_appends_move_with_the_registry()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: false);
        using var appends = new MetricCollector<double>(null, CoreTelemetry.Name, "roster.log.append.duration");
        var before = Observe(server);

        using (var response = await server.RegisterAsync("prod", "orders", "a", new { address = "10.0.0.1", port = 80, ttlSeconds = 30 }))
        {
            response.EnsureSuccessStatusCode();
        }

        using var watch = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/prod/watch");
        watch.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var watching = await server.Client.SendAsync(watch, HttpCompletionOption.ResponseHeadersRead);
        await Eventually.TrueAsync(() => Observe(server)["roster.watchers"] == before["roster.watchers"] + 1, "the watch is counted");

        var after = Observe(server);
        Assert.Equal(before["roster.instances"] + 1, after["roster.instances"]);
        Assert.Equal(before["roster.leases"] + 1, after["roster.leases"]);
        Assert.True(after["roster.changes.applied"] > before["roster.changes.applied"]);
        Assert.Equal(0, after["roster.writes.pending"]);
        Assert.Equal(1, after["roster.node.status=live"]);
        Assert.Equal(0, after["roster.node.status=failed"]);
        Assert.Contains(appends.GetMeasurementSnapshot(), m => m.Value > 0);
    }

    [Fact]
    public async Task Expiries_and_self_preservation_are_observed()
    {
        var time = new ManualTimeProvider();
        await using var server = await RosterTestServer.StartAsync(true, time);
        using (var alone = await server.RegisterAsync("alone", "orders", "a", new { address = "10.0.0.1", port = 80, ttlSeconds = 10 }))
        {
            alone.EnsureSuccessStatusCode();
        }

        for (var i = 0; i < 20; i++)
        {
            using var response = await server.RegisterAsync("mass", "orders", $"m{i}", new { address = "10.0.0.2", port = 1000 + i, ttlSeconds = 10 });
            response.EnsureSuccessStatusCode();
        }

        // Every lease runs out at once: the one in "alone" expires (below the minimum), the twenty in "mass" are kept.
        time.Advance(TimeSpan.FromSeconds(11));
        await Eventually.TrueAsync(() => Observe(server)["roster.leases.expired"] == 1, "the lone instance expired");
        await Eventually.TrueAsync(() => Observe(server)["roster.self_preservation.namespaces"] == 1, "expiry pauses in the namespace that would lose everything");
    }

    private static readonly string[] Instruments =
    [
        "roster.instances", "roster.leases", "roster.watchers", "roster.writes.pending", "roster.changes.applied",
        "roster.leases.expired", "roster.watchers.dropped", "roster.self_preservation.namespaces", "roster.node.status",
    ];

    /// <summary>The latest value of every Roster.Server instrument of this node (the status by its tag), each through a <see cref="MetricCollector{T}"/>.</summary>
    private static Dictionary<string, long> Observe(RosterTestServer server)
    {
        var factory = server.Services.GetRequiredService<IMeterFactory>();
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in Instruments)
        {
            using var collector = new MetricCollector<long>(factory, ServerTelemetry.Name, name);
            collector.RecordObservableInstruments();
            foreach (var measurement in collector.GetMeasurementSnapshot())
            {
                values[measurement.Tags.TryGetValue("roster.status", out var status) ? $"{name}={status}" : name] = measurement.Value;
            }
        }

        return values;
    }
}
