using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Roster.Server.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Roster.Server.Tests.Support;

namespace Roster.Server.Tests.Api;

/// <summary>A watcher that stops reading is cut off with a reason, never slows the node, and resumes without a gap.</summary>
public sealed class SlowWatcherTests
{
    [Fact]
    public async Task WatcherThatStopsReading_IsDisconnectedAsSlow_ThenResumesFromItsLastRevisionWithoutAGap()
    {
        await using var server = await RosterTestServer.StartAsync(true, "--Roster:Node:WatchQueueCapacity=16");
        var model = new WatcherModel("slow");

        // Open the stream and read nothing while the registry changes; big metadata fills socket buffers fast.
        using var stalled = await server.Client.GetAsync(
            new Uri("/api/v1/namespaces/prod/watch?service=orders&since=0", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var metadata = Enumerable.Range(0, 3).ToDictionary(i => $"k{i}", _ => new string('x', 1000));
        var writes = 0;
        await Eventually.TrueAsync(
            async () =>
            {
                for (var i = 0; i < 100; i++, writes++)
                {
                    using var response = await server.RegisterAsync("prod", "orders", $"i{writes % 200}", new { address = "10.5.0.1", port = 1 + writes, metadata });
                    response.EnsureSuccessStatusCode();
                }

                return (await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative))).Contains("\nroster_watchers_dropped_total 1\n", StringComparison.Ordinal);
            },
            "the stalled watcher is dropped as slow",
            TimeSpan.FromSeconds(60));
        var finalRevision = (await server.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64();
        using (var dropped = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), ServerTelemetry.Name, "roster.watchers.dropped"))
        {
            dropped.RecordObservableInstruments();
            Assert.Equal(1, dropped.LastMeasurement?.Value);
        }

        // Now read it all: every change up to the cut, in order, then the reason and where to resume.
        string? disconnect = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var item in SseParser.Create(await stalled.Content.ReadAsStreamAsync(timeout.Token)).EnumerateAsync(timeout.Token))
        {
            if (item.EventType == "disconnect")
            {
                disconnect = item.Data;
                break;
            }

            model.Apply(item.EventType, item.Data);
        }

        Assert.NotNull(disconnect);
        var reason = JsonDocument.Parse(disconnect).RootElement;
        Assert.Equal("slow-consumer", reason.GetProperty("reason").GetString());
        Assert.Equal(model.LastRevision, reason.GetProperty("resumeFrom").GetInt64());
        Assert.True(model.LastRevision < finalRevision, "the watcher was cut off before the end");

        // Resume: the rest arrives, gapless, and the view ends equal to the registry.
        using var stopResume = new CancellationTokenSource();
        var resumed = SseWatcher.RunAsync(server.Client, "prod", ["orders"], model, resume: true, maxEvents: null, stopResume.Token);
        var snapshot = await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders");
        await Eventually.TrueAsync(() => model.Failures.Count > 0 || model.Differs("orders", snapshot) is null, "the resumed watcher catches up");
        Assert.Empty(model.Failures);
        Assert.True(model.EventsApplied >= writes - 1, $"{model.EventsApplied} events for {writes} writes");
        await stopResume.CancelAsync();
        await resumed;
    }
}
