using System.Collections.Concurrent;
using System.Diagnostics;

namespace Roster.Client.Bench;

/// <summary>
/// How long a change takes to reach a consumer's cache: a writer adds new instances one after another at a steady pace
/// (registered in the registry, or put into etcd as go-zero does for an etcd:// source); a subscriber of the consumer's
/// discovery notes when each first appears. Measured from the writer's acknowledgement, so a change that arrives before
/// the writer's own response counts as 0. Target: p99 under 50 ms on this machine.
/// </summary>
internal static class Propagation
{
    public static async Task RunAsync(int changes, int perSecond = 100)
    {
        Console.WriteLine($"propagation: {changes} registrations at {perSecond}/s, durable registry process, one consumer (RosterDiscovery)");
        await using var registry = await BenchRegistry.StartAsync(instances: 1);
        await MeasureAsync(registry.Discovery, "orders", changes, perSecond, i => registry.RegisterAsync($"new-{i}", 10_000 + i), i => $"new-{i}");
    }

    /// <summary>The same for an etcd:// source, against Debian's etcd: each new instance is a leased key put through etcd's JSON gateway.</summary>
    public static async Task RunEtcdAsync(int changes, int perSecond = 100)
    {
        Console.WriteLine($"etcd-propagation: {changes} go-zero-style registrations in etcd at {perSecond}/s, one consumer (RosterDiscovery, etcd:// source)");
        await using var etcd = await Roster.Testing.EtcdProcess.StartAsync();
        var lease = await etcd.GrantLeaseAsync(600);
        await etcd.PutAsync($"users.rpc/{lease}", "127.0.0.1:9999", lease);
        await using var registry = await BenchRegistry.StartAsync(instances: 1, sources: new Dictionary<string, string> { ["users"] = $"etcd://{etcd.Member}/users.rpc" });
        await registry.Discovery.GetEndpointsAsync("users");
        await MeasureAsync(registry.Discovery, "users", changes, perSecond,
            i => etcd.PutAsync($"users.rpc/{lease}-{i}", $"127.0.0.1:{10_000 + i}", lease), i => $"127.0.0.1:{10_000 + i}");
    }

    /// <summary>Makes <paramref name="changes"/> changes with <paramref name="write"/> at <paramref name="perSecond"/> and reports when each endpoint id appeared.</summary>
    private static async Task MeasureAsync(RosterDiscovery discovery, string service, int changes, int perSecond, Func<int, Task> write, Func<int, string> idOf)
    {
        var seen = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var subscription = discovery.Subscribe(service, list =>
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var endpoint in list.Endpoints)
            {
                seen.TryAdd(endpoint.Id, now);
            }
        });

        var acknowledged = new long[changes];
        var pace = Stopwatch.StartNew();
        for (var i = 0; i < changes; i++)
        {
            var due = TimeSpan.FromSeconds(i / (double)perSecond) - pace.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }

            await write(i);
            acknowledged[i] = Stopwatch.GetTimestamp();
        }

        var deadline = Stopwatch.StartNew();
        while (Enumerable.Range(0, changes).Any(i => !seen.ContainsKey(idOf(i))) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        var latencies = Enumerable.Range(0, changes)
            .Select(i => seen.TryGetValue(idOf(i), out var at) ? Math.Max(0, Stopwatch.GetElapsedTime(acknowledged[i], at).TotalMilliseconds) : double.PositiveInfinity)
            .Order()
            .ToArray();
        double At(double quantile) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(quantile * latencies.Length) - 1)];
        Console.WriteLine($"  arrived before the writer's acknowledgement (counted as 0): {latencies.Count(l => l == 0)} of {changes}; never arrived: {latencies.Count(double.IsInfinity)}");
        Console.WriteLine($"  p50 {At(0.50):0.00} ms, p90 {At(0.90):0.00} ms, p99 {At(0.99):0.00} ms, max {latencies[^1]:0.00} ms");
    }
}
