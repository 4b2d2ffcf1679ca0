using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Roster.Server.Tests.Support;

namespace Roster.Server.Tests.Api;

/// <summary>Registering, renewing, watching and reading at once from many threads: no error, nothing lost.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task ManyThreads_RegisterRenewWatchAndRead_ForSeconds_NoErrorAndNothingLost()
    {
        await using var server = await RosterTestServer.StartAsync();
        var registered = new ConcurrentDictionary<string, long>();
        var errors = new ConcurrentBag<string>();
        var renewals = 0L;
        var reads = 0L;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        using var stopWatching = new CancellationTokenSource();

        var watchers = Enumerable.Range(0, 4).Select(i =>
        {
            var model = new WatcherModel($"watcher-{i}");
            return (Model: model, Task: Task.Run(async () =>
            {
                var resume = false;
                while (!stopWatching.IsCancellationRequested)
                {
                    try
                    {
                        await SseWatcher.RunAsync(server.Client, "load", [], model, resume, maxEvents: 500, stopWatching.Token);
                        resume = true;
                    }
                    catch (OperationCanceledException) when (stopWatching.IsCancellationRequested)
                    {
                    }
                }
            }));
        }).ToList();

        var registrars = Enumerable.Range(0, 6).Select(r => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = $"r{r}-{n}";
                using var response = await server.RegisterAsync("load", $"svc{n % 5}", id, new { address = "10.3.0.1", port = 1 + (n % 60000), ttlSeconds = 60 });
                if (!response.IsSuccessStatusCode)
                {
                    errors.Add($"register {id}: {(int)response.StatusCode}");
                    continue;
                }

                registered[$"svc{n % 5}/{id}"] = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("incarnation").GetInt64();
            }
        }));

        var renewers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var leases = registered.Select(p => new { @namespace = "load", service = p.Key.Split('/')[0], id = p.Key.Split('/')[1], incarnation = p.Value }).ToList();
                using var response = await server.Client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), RosterTestServer.Json(new { leases }));
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (!response.IsSuccessStatusCode || body.GetProperty("ok").GetInt32() != leases.Count)
                {
                    errors.Add($"renew: {(int)response.StatusCode} {body}");
                }

                Interlocked.Add(ref renewals, leases.Count);
            }
        }));

        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await server.Client.GetAsync(new Uri($"/api/v1/namespaces/load/services/svc{r}", UriKind.Relative));
                if (!response.IsSuccessStatusCode)
                {
                    errors.Add($"read: {(int)response.StatusCode}");
                }

                Interlocked.Increment(ref reads);
            }
        }));

        await Task.WhenAll(registrars.Concat(renewers).Concat(readers));
        Assert.Empty(errors);
        Assert.True(registered.Count > 100 && renewals > 2000 && reads > 50, $"too little load: {registered.Count} registered, {renewals} renewals, {reads} reads");

        var snapshots = new Dictionary<string, JsonElement>();
        for (var s = 0; s < 5; s++)
        {
            var snapshot = await server.GetJsonAsync($"/api/v1/namespaces/load/services/svc{s}");
            snapshots[$"svc{s}"] = snapshot;
            var ids = snapshot.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToHashSet();
            Assert.All(registered.Keys.Where(k => k.StartsWith($"svc{s}/", StringComparison.Ordinal)), k => Assert.Contains(k.Split('/')[1], ids));
        }

        foreach (var (model, _) in watchers)
        {
            await Eventually.TrueAsync(() => model.Failures.Count > 0 || snapshots.All(s => model.Differs(s.Key, s.Value) is null), $"{model.Name} converges", TimeSpan.FromSeconds(30));
            Assert.Empty(model.Failures);
        }

        await stopWatching.CancelAsync();
        await Task.WhenAll(watchers.Select(w => w.Task));
    }
}
