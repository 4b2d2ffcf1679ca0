using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>The server process is SIGKILLed in the middle of writes and started again on the same data directory.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "roster-restart-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dataDirectory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Sigkill_ThenRestart_KeepsEveryAcknowledgedWrite_ContinuesRevisions_ResumesWatchers_AndExpiresNothing()
    {
        var acknowledged = new ConcurrentDictionary<string, (long Incarnation, long Revision)>();
        long watcherRevision;
        await using (var first = await RosterProcess.StartAsync(_dataDirectory))
        {
            for (var i = 0; i < 20; i++)
            {
                await RegisterAsync(first.Client, $"persistent-{i}", new { address = "10.2.0.1", port = 1000 + i, persistent = true }, acknowledged);
            }

            // A watcher that reads up to here, then loses its connection with the crash.
            watcherRevision = await ReadWatchUntilAsync(first.Client, acknowledged.Values.Max(a => a.Revision));

            // Writers keep going while the process is killed: whatever was acknowledged must survive.
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    try
                    {
                        await RegisterAsync(first.Client, $"w{w}-{n}", new { address = "10.2.1.1", port = 2000 + n, ttlSeconds = 30 }, acknowledged);
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                }
            })).ToArray();

            await Eventually.TrueAsync(() => acknowledged.Count >= 400, "writes are acknowledged");
            await first.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        var lastAcknowledged = acknowledged.Values.Max(a => a.Revision);
        await using var second = await RosterProcess.StartAsync(_dataDirectory);

        var status = await second.Client.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/status", UriKind.Relative));
        Assert.True(status.GetProperty("revision").GetInt64() >= lastAcknowledged);
        var snapshot = await second.Client.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/namespaces/prod/services/orders", UriKind.Relative));
        var present = snapshot.GetProperty("instances").EnumerateArray()
            .ToDictionary(i => i.GetProperty("id").GetString()!, i => i.GetProperty("incarnation").GetInt64());
        foreach (var (id, ack) in acknowledged)
        {
            Assert.True(present.TryGetValue(id, out var incarnation), $"acknowledged {id} is missing after the restart");
            Assert.Equal(ack.Incarnation, incarnation);
        }

        // Restart grace: the restored leases are renewable, none expired.
        var leases = acknowledged.Where(a => a.Key.StartsWith('w')).Select(a => new { @namespace = "prod", service = "orders", id = a.Key, incarnation = a.Value.Incarnation }).ToList();
        using var renewed = await second.Client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), RosterTestServer.Json(new { leases }));
        var renewal = await renewed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(leases.Count, renewal.GetProperty("ok").GetInt32());
        var metrics = await second.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("\nroster_leases_expired_total 0\n", metrics, StringComparison.Ordinal);

        // The watcher resumes from its last revision: only newer changes, in order, no reset.
        using var watch = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/namespaces/prod/watch?service=orders", UriKind.Relative));
        watch.Headers.Add("Last-Event-ID", watcherRevision.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var stream = await second.Client.SendAsync(watch, HttpCompletionOption.ResponseHeadersRead);
        var next = await RegisterAsync(second.Client, "after-restart", new { address = "10.2.2.1", port = 3000, persistent = true }, acknowledged);
        Assert.True(next > lastAcknowledged, "revisions continue upward after a restart");

        var revisions = new List<long>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var item in SseParser.Create(await stream.Content.ReadAsStreamAsync(timeout.Token)).EnumerateAsync(timeout.Token))
        {
            Assert.NotEqual("reset", item.EventType);
            var revision = JsonDocument.Parse(item.Data).RootElement.GetProperty("revision").GetInt64();
            Assert.True(revision > (revisions.Count == 0 ? watcherRevision : revisions[^1]));
            revisions.Add(revision);
            if (revision == next)
            {
                break;
            }
        }

        Assert.True(revisions.Count >= 2, "the resumed watch replays the changes made while it was away, then the new one");
    }

    private static async Task<long> RegisterAsync(HttpClient client, string id, object body, ConcurrentDictionary<string, (long, long)> acknowledged)
    {
        using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/prod/services/orders/instances/{id}", UriKind.Relative), RosterTestServer.Json(body));
        response.EnsureSuccessStatusCode();
        var instance = await response.Content.ReadFromJsonAsync<JsonElement>();
        var revision = long.Parse(response.Headers.GetValues("Roster-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture);
        acknowledged[id] = (instance.GetProperty("incarnation").GetInt64(), revision);
        return revision;
    }

    private static async Task<long> ReadWatchUntilAsync(HttpClient client, long revision)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await client.GetAsync(new Uri("/api/v1/namespaces/prod/watch?service=orders&since=0", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync(timeout.Token)).EnumerateAsync(timeout.Token))
        {
            var seen = JsonDocument.Parse(item.Data).RootElement.GetProperty("revision").GetInt64();
            if (seen >= revision)
            {
                return seen;
            }
        }

        throw new InvalidOperationException("The watch ended early.");
    }
}
