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

        // The API names the namespace (the console shows it per namespace).
        var namespaces = (await server.GetJsonAsync("/api/v1/namespaces")).GetProperty("namespaces").EnumerateArray()
            .ToDictionary(ns => ns.GetProperty("name").GetString()!, ns => ns.GetProperty("selfPreservation").GetBoolean());
        Assert.True(namespaces["mass"], string.Join(",", namespaces));
        Assert.False(namespaces.GetValueOrDefault("alone"));
    }

    [Fact]
    public async Task Pending_writes_rise_while_registrations_wait_for_the_log_and_fall_back_to_zero()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: false);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var observedPending = 0L;

        // Writers keep the log busy until the instrument has seen a write waiting to be made durable and applied.
        var writers = Enumerable.Range(0, 32).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; Interlocked.Read(ref observedPending) == 0 && !deadline.IsCancellationRequested; i++)
            {
                using var response = await server.RegisterAsync("prod", "orders", $"w{writer}-{i % 20}", new { address = "10.0.0.1", port = 1000 + (i % 20), ttlSeconds = 30 });
                response.EnsureSuccessStatusCode();
            }
        })).ToArray();

        await Eventually.TrueAsync(
            () => Observe(server)["roster.writes.pending"] is var pending and > 0 && Interlocked.Exchange(ref observedPending, pending) == 0,
            "a registration is seen pending", TimeSpan.FromSeconds(20));
        await Task.WhenAll(writers);
        Assert.True(Interlocked.Read(ref observedPending) > 0);
        await Eventually.TrueAsync(() => Observe(server)["roster.writes.pending"] == 0, "every acknowledged write has left the queue");
    }

    [Fact]
    public async Task Metrics_is_prometheus_text_fed_from_the_instruments_with_aspnetcore_request_durations_but_not_watch_streams()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: false);
        using (var response = await server.RegisterAsync("prod", "orders", "a", new { address = "10.0.0.1", port = 80, ttlSeconds = 30 }))
        {
            response.EnsureSuccessStatusCode();
        }

        using var watch = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/prod/watch");
        watch.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using (var watching = await server.Client.SendAsync(watch, HttpCompletionOption.ResponseHeadersRead))
        {
            await Eventually.TrueAsync(() => Observe(server)["roster.watchers"] == 1, "the watch is open");
        }

        await Eventually.TrueAsync(() => Observe(server)["roster.watchers"] == 0, "the watch has ended");

        // ASP.NET Core records a request's duration once the response has been sent, so a scrape may run just before it.
        const string RegistrationRoute = "http_route=\"/api/v1/namespaces/{ns}/services/{service}/instances/{id}\"";
        var text = string.Empty;
        await Eventually.TrueAsync(
            async () => (text = await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative))).Contains(RegistrationRoute, StringComparison.Ordinal),
            "the registration's request duration is recorded");
        var sample = new System.Text.RegularExpressions.Regex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.eE+-]+$|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (NaN|[+-]Inf)$""");
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                Assert.True(declared.Add(line.Split(' ')[2]), $"declared twice: {line}");
            }
            else if (!line.StartsWith('#'))
            {
                Assert.Matches(sample, line);
            }
        }

        // The figures the README documents.
        Assert.Contains("\nroster_instances 1\n", text, StringComparison.Ordinal);
        Assert.Contains("\nroster_leases 1\n", text, StringComparison.Ordinal);
        Assert.Contains("roster_node_status{roster_status=\"live\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("roster_log_append_duration_seconds_count ", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_heap_total_allocated_bytes_total ", text, StringComparison.Ordinal);
        foreach (var name in (string[])["roster_changes_applied_total", "roster_leases_expired_total", "roster_watchers_dropped_total", "roster_writes_pending",
            "roster_self_preservation_namespaces", "roster_ready", "roster_revision", "roster_storage_problem",
            "http_server_request_duration_seconds", "dotnet_gc_collections_total"])
        {
            Assert.Contains(name, declared);
        }

        // ASP.NET Core's request duration, by method, route template and status; watch streams are left out (a
        // stream's duration is how long someone watched, not how fast the node answered).
        var registrations = text.Split('\n').Single(line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains(RegistrationRoute, StringComparison.Ordinal));
        Assert.Contains("http_request_method=\"PUT\"", registrations, StringComparison.Ordinal);
        Assert.Matches("http_response_status_code=\"20[01]\"", registrations);
        Assert.EndsWith("} 1", registrations, StringComparison.Ordinal);
        Assert.DoesNotContain("/watch\"", text, StringComparison.Ordinal);
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
