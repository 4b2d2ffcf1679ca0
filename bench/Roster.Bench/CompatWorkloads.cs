using System.Diagnostics;
using System.Globalization;

namespace Roster.Bench;

/// <summary>The compatibility APIs' costs (issue 15).</summary>
internal static class CompatWorkloads
{
    /// <summary>
    /// Consul blocking queries while nothing changes: a node with 1,000 queries blocked on <c>/v1/health/service</c>
    /// (each its own connection, <c>wait=10m</c>) against the same node with none, the node's CPU over the same time
    /// (the bench's own client is idle meanwhile). Then one change: how long until every blocked query has answered.
    /// </summary>
    public static async Task ConsulIdleAsync(int seconds, int blocked)
    {
        Console.WriteLine($"consul-idle: node CPU over {seconds} s with {blocked} Consul blocking queries waiting, against none");
        var directory = Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));
        var (server, _) = await ServerProcess.StartAsync(directory, "--Roster:Consul:Namespace=bench");
        await using (server)
        {
            using var client = Workloads.Client(server.Address, blocked + 4);
            client.Timeout = Timeout.InfiniteTimeSpan;
            // Persistent: an expiry would be a change, and wake every query.
            var persistent = "{\"address\":\"10.20.30.40\",\"port\":8080,\"persistent\":true}"u8.ToArray();
            for (var i = 0; i < 10; i++)
            {
                using var registered = await client.PutAsync(new Uri($"/api/v1/namespaces/bench/services/orders/instances/i{i}", UriKind.Relative), Workloads.JsonContent(persistent));
                registered.EnsureSuccessStatusCode();
            }

            using var first = await client.GetAsync(new Uri("/v1/health/service/orders", UriKind.Relative));
            var index = first.Headers.GetValues("X-Consul-Index").Single();

            var idleCpu = server.CpuTime();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            idleCpu = server.CpuTime() - idleCpu;

            // The same number of connections, open and idle (each made one request): what Kestrel spends on connections.
            using var idleClient = Workloads.Client(server.Address, blocked);
            var gate = new TaskCompletionSource();
            var opened = Enumerable.Range(0, blocked).Select(async _ =>
            {
                await gate.Task;
                using var response = await idleClient.GetAsync(new Uri("/healthz", UriKind.Relative));
            }).ToList();
            gate.SetResult();
            await Task.WhenAll(opened);
            var connectionsCpu = server.CpuTime();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            connectionsCpu = server.CpuTime() - connectionsCpu;
            idleClient.Dispose();

            var answered = 0;
            var queries = Enumerable.Range(0, blocked).Select(async _ =>
            {
                using var response = await client.GetAsync(new Uri($"/v1/health/service/orders?index={index}&wait=10m", UriKind.Relative));
                response.EnsureSuccessStatusCode();
                Interlocked.Increment(ref answered);
            }).ToList();
            var status = await client.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative));
            while (!status.Contains($"\"watchers\":{blocked}", StringComparison.Ordinal))
            {
                await Task.Delay(100);
                status = await client.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative));
            }

            var blockedCpu = server.CpuTime();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            blockedCpu = server.CpuTime() - blockedCpu;
            Console.WriteLine($"  node CPU over {seconds} s: {idleCpu.TotalMilliseconds:0} ms idle; {connectionsCpu.TotalMilliseconds:0} ms with {blocked} idle kept-alive connections; " +
                              $"{blockedCpu.TotalMilliseconds:0} ms with {blocked} queries blocked ({(blockedCpu - idleCpu) / idleCpu:P0} over idle); {answered} answered early");

            var changed = Stopwatch.StartNew();
            using (var registered = await client.PutAsync(new Uri("/api/v1/namespaces/bench/services/orders/instances/new", UriKind.Relative), Workloads.JsonContent(persistent)))
            {
                registered.EnsureSuccessStatusCode();
            }

            await Task.WhenAll(queries);
            Console.WriteLine($"  one change: all {blocked} blocked queries answered within {changed.Elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms");
        }

        Directory.Delete(directory, recursive: true);
    }
}
