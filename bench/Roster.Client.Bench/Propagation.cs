using System.Collections.Concurrent;
using System.Diagnostics;

namespace Roster.Client.Bench;

/// <summary>
/// How long a change made in the registry takes to reach a consumer's cache: a writer registers new
/// instances one after another at a steady pace; a subscriber of the consumer's discovery notes when each
/// first appears. Measured from the writer's acknowledgement, so a change that arrives before the writer's
/// own response counts as 0. Target: p99 under 50 ms on this machine.
/// </summary>
internal static class Propagation
{
    public static async Task RunAsync(int changes, int perSecond = 100)
    {
        Console.WriteLine($"propagation: {changes} registrations at {perSecond}/s, durable registry process, one consumer (RosterDiscovery)");
        await using var registry = await BenchRegistry.StartAsync(instances: 1);
        var seen = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var subscription = registry.Discovery.Subscribe("orders", list =>
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

            await registry.RegisterAsync($"new-{i}", 10_000 + i);
            acknowledged[i] = Stopwatch.GetTimestamp();
        }

        var deadline = Stopwatch.StartNew();
        while (Enumerable.Range(0, changes).Any(i => !seen.ContainsKey($"new-{i}")) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        Report(changes, i => seen.TryGetValue($"new-{i}", out var at) ? at : null, acknowledged);
    }

    /// <summary>
    /// The same for an etcd:// source: a writer puts one leased key per new instance into Debian's etcd (as go-zero
    /// registers), through etcd's JSON gateway; the consumer follows the service's prefix. Measured from etcd's answer.
    /// </summary>
    public static async Task RunEtcdAsync(int changes, int perSecond = 100)
    {
        Console.WriteLine($"etcd-propagation: {changes} go-zero-style registrations in etcd at {perSecond}/s, one consumer (RosterDiscovery, etcd:// source)");
        await using var etcd = await Roster.Testing.EtcdProcess.StartAsync();
        var lease = await etcd.GrantLeaseAsync(600);
        await etcd.PutAsync($"users.rpc/{lease}", "127.0.0.1:9999", lease);
        await using var registry = await BenchRegistry.StartAsync(instances: 1, sources: new Dictionary<string, string> { ["users"] = $"etcd://{etcd.Member}/users.rpc" });
        await registry.Discovery.GetEndpointsAsync("users");
        var seen = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var subscription = registry.Discovery.Subscribe("users", list =>
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

            await etcd.PutAsync($"users.rpc/{lease}-{i}", $"127.0.0.1:{10_000 + i}", lease);
            acknowledged[i] = Stopwatch.GetTimestamp();
        }

        var deadline = Stopwatch.StartNew();
        while (Enumerable.Range(0, changes).Any(i => !seen.ContainsKey($"127.0.0.1:{10_000 + i}")) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        Report(changes, i => seen.TryGetValue($"127.0.0.1:{10_000 + i}", out var at) ? at : null, acknowledged);
    }

    private static void Report(int changes, Func<int, long?> seenAt, long[] acknowledged)
    {
        var latencies = Enumerable.Range(0, changes)
            .Select(i => seenAt(i) is { } at ? Math.Max(0, Stopwatch.GetElapsedTime(acknowledged[i], at).TotalMilliseconds) : double.PositiveInfinity)
            .Order()
            .ToArray();
        double At(double quantile) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(quantile * latencies.Length) - 1)];
        Console.WriteLine($"  arrived before the writer's acknowledgement (counted as 0): {latencies.Count(l => l == 0)} of {changes}; never arrived: {latencies.Count(double.IsInfinity)}");
        Console.WriteLine($"  p50 {At(0.50):0.00} ms, p90 {At(0.90):0.00} ms, p99 {At(0.99):0.00} ms, max {latencies[^1]:0.00} ms");
    }
}
