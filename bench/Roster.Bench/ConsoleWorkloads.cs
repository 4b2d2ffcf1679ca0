using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Roster.Bench;

/// <summary>
/// The web console under load, in Debian's chromium (Microsoft.Playwright, ExecutablePath /usr/bin/chromium):
/// how soon a service view of 10,000 instances is interactive, and whether an open view keeps up with 200 changes a
/// second for 30 s without blocking the tab's main thread. Long tasks (over 50 ms of main-thread work) are read
/// from the page's own PerformanceObserver.
/// </summary>
internal static class ConsoleWorkloads
{
    private const string LongTaskObserver =
        "window.longTasks = []; new PerformanceObserver(list => { for (const e of list.getEntries()) window.longTasks.push({ start: e.startTime, duration: e.duration }); })"
        + ".observe({ type: 'longtask', buffered: true });";

    public static async Task RunAsync(int instances, int changesPerSecond, int seconds)
    {
        Console.WriteLine($"console: a service view of {instances:N0} instances, then {changesPerSecond} changes/s to it for {seconds} s (headless chromium)");
        var directory = Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));
        var (server, _) = await ServerProcess.StartAsync(directory, "--in-memory");
        await using (server)
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = server.Address };
            await RegisterAsync(client, instances, port: 8080);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            await page.AddInitScriptAsync(LongTaskObserver);
            await page.AddInitScriptAsync(
                "window.shown = new Promise(resolve => { const check = () => { if (document.getElementById('instance-count')?.textContent.startsWith('" + instances + " of ')) "
                + "requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)); else setTimeout(check, 5); }; check(); });");

            // Shown, by the page's own clock from the start of the navigation: the count of instances is on screen and the
            // main thread has rendered the next frame and is free for the next task (checked from inside the page, so
            // the driver's round trips do not count). Settled: the end of the last long task before two quiet seconds
            // (a time-to-interactive in the manner of Lighthouse's).
            var clock = Stopwatch.StartNew();
            await page.GotoAsync(new Uri(server.Address, "/#/ns/bench/svc/orders").ToString());
            var shownInPage = await page.EvaluateAsync<double>("() => window.shown");
            var shown = clock.Elapsed;
            var snapshot = await page.EvaluateAsync<string>(
                "() => { const r = performance.getEntriesByType('resource').find(e => e.name.endsWith('/services/orders')); const m = performance.getEntriesByName('roster:first-render')[0]; "
                + "return `snapshot asked at ${r.startTime.toFixed(0)} ms, answered by ${r.responseEnd.toFixed(0)} ms, rows made by ${m.startTime.toFixed(0)} ms`; }");
            await page.WaitForFunctionAsync(
                "() => performance.now() - Math.max(0, ...window.longTasks.map(t => t.start + t.duration)) > 2000", null, new() { Timeout = 60_000, PollingInterval = 100 });
            var loading = await page.EvaluateAsync<LongTask[]>("() => window.longTasks.splice(0)");
            var settled = loading.Length == 0 ? shownInPage : Math.Max(shownInPage, loading.Max(t => t.Start + t.Duration));
            Console.WriteLine($"  view of {instances:N0} instances shown {shownInPage:N0} ms after the navigation started ({shown.TotalMilliseconds:N0} ms by the driver's clock), settled after {settled:N0} ms; "
                + $"long tasks while loading: {loading.Length}, longest {(loading.Length == 0 ? 0 : loading.Max(t => t.Duration)):N0} ms; {snapshot}");

            // Changes at a steady pace: each re-registers an instance on another port (a new incarnation, an upsert event).
            await page.WaitForFunctionAsync("() => document.getElementById('connection')?.dataset.state === 'live'");
            var sent = 0;
            var churnStarted = await page.EvaluateAsync<double>("() => performance.now()");
            var pace = Stopwatch.StartNew();
            var total = changesPerSecond * seconds;
            var inFlight = new List<Task>();
            while (sent < total)
            {
                var due = (int)(pace.Elapsed.TotalSeconds * changesPerSecond);
                while (sent < Math.Min(due, total))
                {
                    inFlight.Add(ChangeAsync(client, sent % instances, 9000 + (sent / instances)));
                    sent++;
                }

                inFlight.RemoveAll(t => t.IsCompletedSuccessfully);
                await Task.Delay(5);
            }

            await Task.WhenAll(inFlight);
            var writesEnded = Stopwatch.StartNew();
            var revision = (await client.GetFromJsonAsync<ServiceSnapshot>("/api/v1/namespaces/bench/services/orders"))!.Revision;
            await page.WaitForFunctionAsync($"() => Number(document.getElementById('view')?.dataset.revision) >= {revision}", null, new() { Timeout = 60_000, PollingInterval = 10 });
            var caughtUp = writesEnded.Elapsed;
            var churn = await page.EvaluateAsync<LongTask[]>("() => window.longTasks.splice(0)");
            Console.WriteLine($"  {sent:N0} changes over {pace.Elapsed.TotalSeconds:N1} s ({sent / pace.Elapsed.TotalSeconds:N0}/s): the page had the registry's last revision "
                + $"{caughtUp.TotalMilliseconds:N0} ms after the writes ended; long tasks: {churn.Length}, longest {(churn.Length == 0 ? 0 : churn.Max(t => t.Duration)):N0} ms "
                + $"({string.Join(", ", churn.Select(t => $"{t.Duration:N0} ms at {(t.Start - churnStarted) / 1000:N1} s"))})");
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// A namespace of <paramref name="services"/> services in the service list: how soon it is shown, how long the
    /// main thread is blocked by a filter keystroke, and by the list's refresh while services keep changing.
    /// </summary>
    public static async Task ServiceListAsync(int services, int seconds)
    {
        Console.WriteLine($"console-services: a namespace of {services:N0} services, then 20 changes/s to them for {seconds} s (headless chromium)");
        var directory = Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));
        var (server, _) = await ServerProcess.StartAsync(directory, "--in-memory");
        await using (server)
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = server.Address };
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                int n;
                while ((n = Interlocked.Increment(ref next)) < services)
                {
                    await PutAsync(client, $"service-{n:D4}", "a", 8080);
                }
            })));

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            await page.AddInitScriptAsync(LongTaskObserver);
            await page.GotoAsync(new Uri(server.Address, "/#/ns/bench").ToString());
            await page.WaitForFunctionAsync("() => document.querySelector('#services tbody tr')", null, new() { Timeout = 60_000, PollingInterval = 10 });
            var firstRows = await page.EvaluateAsync<double>("() => performance.now()");
            await page.WaitForFunctionAsync($"() => document.querySelectorAll('#services tbody tr').length === {services}", null, new() { Timeout = 60_000, PollingInterval = 10 });
            var allRows = await page.EvaluateAsync<double>("() => new Promise(resolve => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)))");
            var loading = await page.EvaluateAsync<LongTask[]>("() => window.longTasks.splice(0)");

            await page.FillAsync("#service-filter", "service-1");
            await page.WaitForFunctionAsync("() => document.querySelectorAll('#services tbody tr').length === 1000");
            await page.FillAsync("#service-filter", "");
            await page.WaitForFunctionAsync($"() => document.querySelectorAll('#services tbody tr').length === {services}");
            var filtering = await page.EvaluateAsync<LongTask[]>("() => window.longTasks.splice(0)");

            var pace = Stopwatch.StartNew();
            for (var sent = 0; pace.Elapsed < TimeSpan.FromSeconds(seconds); sent++)
            {
                await PutAsync(client, $"service-{sent % services:D4}", "a", 9000 + sent);
                var due = TimeSpan.FromSeconds((sent + 1) / 20.0);
                if (due > pace.Elapsed)
                {
                    await Task.Delay(due - pace.Elapsed);
                }
            }

            var refreshing = await page.EvaluateAsync<LongTask[]>("() => window.longTasks.splice(0)");
            Console.WriteLine($"  list of {services:N0} services: first rows {firstRows:N0} ms after the navigation started, all {allRows:N0} ms (longest long task {Longest(loading):N0} ms); "
                + $"filtering to 1,000 and back: longest {Longest(filtering):N0} ms; refreshes while services change: {refreshing.Length} long tasks, longest {Longest(refreshing):N0} ms");
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static double Longest(LongTask[] tasks) => tasks.Length == 0 ? 0 : tasks.Max(t => t.Duration);

    private static async Task PutAsync(HttpClient client, string service, string id, int port)
    {
        using var response = await client.PutAsJsonAsync($"/api/v1/namespaces/bench/services/{service}/instances/{id}", new { address = "10.0.0.1", port, persistent = true });
        response.EnsureSuccessStatusCode();
    }

    private static async Task RegisterAsync(HttpClient client, int count, int port)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < count)
            {
                await ChangeAsync(client, n, port);
            }
        })));
    }

    private static async Task ChangeAsync(HttpClient client, int n, int port)
    {
        using var response = await client.PutAsJsonAsync($"/api/v1/namespaces/bench/services/orders/instances/orders-{n:D5}", new
        {
            address = $"10.{n / 65536 % 256}.{n / 256 % 256}.{n % 256}",
            port,
            zone = $"zone-{n % 3}",
            version = "1.4.2",
            persistent = true,
            metadata = new Dictionary<string, string> { ["team"] = "checkout", ["build"] = "2026.12.03" },
        });
        response.EnsureSuccessStatusCode();
    }

    private sealed record ServiceSnapshot(long Revision);

    private sealed class LongTask
    {
        public double Start { get; set; }

        public double Duration { get; set; }
    }
}
