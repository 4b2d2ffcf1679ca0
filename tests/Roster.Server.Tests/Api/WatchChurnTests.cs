using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Roster.Server.Tests.Support;

namespace Roster.Server.Tests.Api;

/// <summary>
/// Seed 000: watches under churn. Watchers must never miss, repeat or reorder a change, whether they
/// start fresh, resume from an old revision, or drop and resume in the middle of the stream.
/// </summary>
public sealed class WatchChurnTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Ns = "churn";
    private static readonly string[] Services = ["orders", "billing", "stock", "users"];

    [Fact]
    public async Task TwentyWatchers_EightWriters_5000AcceptedChanges_EveryWatcherEndsWithTheRegistryAndAGaplessStream()
    {
        await using var server = await RosterTestServer.StartAsync();
        using var stopWatching = new CancellationTokenSource();

        // The reference watches everything from revision 0 and keeps every event, so a watcher started
        // later at revision R can take its starting view from the events up to R.
        var reference = new WatcherModel("reference");
        var referenceEvents = new ConcurrentQueue<(long Revision, string Type, string Data)>();
        var referenceTask = RunReferenceAsync(server, reference, referenceEvents, stopWatching.Token);

        using var stopWriting = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var writeErrors = new ConcurrentBag<string>();
        var accepted = 0;
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(() => WriteAsync(server, w, 850, writeErrors, () => Interlocked.Increment(ref accepted), stopWriting.Token))).ToArray();

        var watchers = new List<(WatcherModel Model, string[] Services, Task Task)>();
        var random = new Random(2026);
        for (var i = 0; i < 20; i++)
        {
            // Spread the starts over the churn.
            await Eventually.TrueAsync(() => reference.LastRevision >= i * 150 || writers.All(t => t.IsCompleted), "the churn progresses");
            string[] watched = (i % 3) switch { 0 => [], 1 => [Services[i % 4]], _ => [Services[i % 4], Services[(i + 1) % 4]] };
            var model = new WatcherModel($"watcher-{i}");
            var mode = i % 4;
            if (mode == 1)
            {
                // Opened at a random past revision: start from the reference's view at that point.
                var revision = random.NextInt64(0, reference.LastRevision + 1);
                foreach (var (r, type, data) in referenceEvents.Where(e => e.Revision <= revision && Watches(watched, e.Data)))
                {
                    model.Apply(type, data);
                }

                model.ResumeFrom(revision);
            }

            watchers.Add((model, watched, Task.Run(() => RunWatcherAsync(server, model, watched, resumeFirst: mode == 1, dropAndResume: mode >= 2, stopWatching.Token))));
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(writers);
        output.WriteLine($"writers done after {clock.Elapsed}");
        Assert.Empty(writeErrors);
        output.WriteLine($"accepted {accepted}");
        Assert.True(accepted >= 5000, $"only {accepted} writes were accepted");

        var snapshots = new Dictionary<string, JsonElement>();
        foreach (var service in Services)
        {
            snapshots[service] = await server.GetJsonAsync($"/api/v1/namespaces/{Ns}/services/{service}");
        }

        foreach (var (model, watched, _) in watchers.Append((reference, [], referenceTask)))
        {
            var services = watched.Length == 0 ? Services : watched;
            await Eventually.TrueAsync(
                () => model.Failures.Count > 0 || services.All(s => model.Differs(s, snapshots[s]) is null),
                $"{model.Name} converges; last difference: {services.Select(s => model.Differs(s, snapshots[s])).FirstOrDefault(d => d is not null)}",
                TimeSpan.FromSeconds(30));
            Assert.Empty(model.Failures);
        }

        output.WriteLine($"converged after {clock.Elapsed}");
        Assert.True(watchers.Sum(w => w.Model.EventsApplied) > 20_000, "the watchers should have checked many events");
        await stopWatching.CancelAsync();
        await Task.WhenAll(watchers.Select(w => w.Task).Append(referenceTask));
    }

    private static bool Watches(string[] watched, string data) =>
        watched.Length == 0 || watched.Contains(JsonDocument.Parse(data).RootElement.GetProperty("service").GetString());

    private static async Task RunReferenceAsync(RosterTestServer server, WatcherModel reference, ConcurrentQueue<(long, string, string)> events, CancellationToken stop)
    {
        var recorder = new RecordingModel(reference, events);
        await recorder.RunAsync(server.Client, Ns, stop);
    }

    private static async Task RunWatcherAsync(RosterTestServer server, WatcherModel model, string[] services, bool resumeFirst, bool dropAndResume, CancellationToken stop)
    {
        var resume = resumeFirst;
        var random = new Random(model.Name.GetHashCode(StringComparison.Ordinal));
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await SseWatcher.RunAsync(server.Client, Ns, services, model, resume, dropAndResume ? random.Next(20, 400) : null, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            if (model.Failures.Count > 0)
            {
                return;
            }

            // Every later connection resumes from the last revision this watcher saw.
            resume = true;
        }
    }

    private static async Task WriteAsync(RosterTestServer server, int writer, int operations, ConcurrentBag<string> errors, Action accepted, CancellationToken cancellationToken)
    {
        var random = new Random(writer);
        var incarnations = new Dictionary<string, long>();
        for (var n = 0; n < operations && !cancellationToken.IsCancellationRequested; n++)
        {
            var service = Services[random.Next(Services.Length)];
            var id = $"10.1.{random.Next(5)}.{random.Next(5)}:80";
            var path = new Uri($"/api/v1/namespaces/{Ns}/services/{service}/instances/{id}", UriKind.Relative);
            var roll = random.Next(100);
            HttpResponseMessage response;
            if (roll < 50)
            {
                response = await server.Client.PutAsync(path, RosterTestServer.Json(new { address = "10.1.0.1", port = random.Next(1, 6), version = $"v{random.Next(3)}" }), cancellationToken);
            }
            else if (roll < 65 && incarnations.TryGetValue(service + id, out var incarnation))
            {
                response = await server.Client.PutAsync(path, RosterTestServer.Json(new { address = "10.1.0.2", port = random.Next(1, 6), incarnation }), cancellationToken);
            }
            else if (roll < 85)
            {
                response = await server.Client.DeleteAsync(path, cancellationToken);
            }
            else
            {
                using var patch = new HttpRequestMessage(HttpMethod.Patch, path) { Content = RosterTestServer.Json(new { drained = random.Next(2) == 0 }) };
                response = await server.Client.SendAsync(patch, cancellationToken);
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    accepted();
                    if (response.StatusCode != HttpStatusCode.NoContent)
                    {
                        incarnations[service + id] = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("incarnation").GetInt64();
                    }
                }
                else if (response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.Conflict))
                {
                    errors.Add($"writer {writer}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }
        }
    }

    /// <summary>Feeds the reference model and keeps each event for watchers that start later.</summary>
    private sealed class RecordingModel(WatcherModel model, ConcurrentQueue<(long, string, string)> events)
    {
        public async Task RunAsync(HttpClient client, string ns, CancellationToken stop)
        {
            using var response = await client.SendAsync(
                new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/v1/namespaces/{ns}/watch?since=0", UriKind.Relative)), HttpCompletionOption.ResponseHeadersRead, stop);
            await using var stream = await response.Content.ReadAsStreamAsync(stop);
            try
            {
                await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(stop))
                {
                    if (item.EventType is "upsert" or "delete")
                    {
                        // Recorded before it is applied, so LastRevision never runs ahead of the record.
                        events.Enqueue((JsonDocument.Parse(item.Data).RootElement.GetProperty("revision").GetInt64(), item.EventType, item.Data));
                        model.Apply(item.EventType, item.Data);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }
}
