using System.Diagnostics;
using System.Globalization;
using System.Text;

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

    /// <summary>
    /// Eureka's full fetch (<c>GET /eureka/apps</c>, what every Eureka client asks every 30 s) of a registry of
    /// <paramref name="instances"/> instances in 100 applications: the node's CPU per fetch when nothing changed (the
    /// cached encoding), in JSON and gzipped as clients ask, plain JSON and XML; then the first fetch after each change
    /// (one application changed). CPU is read from /proc over many fetches, one at a time.
    /// </summary>
    public static async Task EurekaFetchAsync(int instances, int fetches)
    {
        Console.WriteLine($"eureka-fetch: node CPU per full fetch of {instances:N0} instances, {fetches} fetches each");
        var directory = Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));
        var (server, _) = await ServerProcess.StartAsync(directory, "--Roster:Eureka:Namespace=bench");
        await using (server)
        {
            using var client = Workloads.Client(server.Address, 32);
            var registered = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, instances), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, cancellationToken) =>
            {
                var body = Encoding.UTF8.GetBytes(
                    $"{{\"address\":\"10.{i / 65536 % 256}.{i / 256 % 256}.{i % 256}\",\"port\":8080,\"persistent\":true,\"zone\":\"z{i % 3}\",\"metadata\":{{\"build\":\"b{i % 7}\",\"management.port\":\"9090\"}}}}");
                using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/bench/services/app{i % 100}/instances/i{i}", UriKind.Relative), Workloads.JsonContent(body), cancellationToken);
                response.EnsureSuccessStatusCode();
                Interlocked.Increment(ref registered);
            });

            foreach (var (label, accept, gzip) in new[] { ("JSON gzip", "application/json", true), ("JSON", "application/json", false), ("XML", "application/xml", false) })
            {
                var (bytes, first) = await FetchAsync(client, server, accept, gzip);
                var cached = server.CpuTime();
                for (var i = 0; i < fetches; i++)
                {
                    await FetchAsync(client, server, accept, gzip);
                }

                cached = server.CpuTime() - cached;
                Console.WriteLine($"  {label,-9}: {bytes / 1024.0 / 1024.0:0.00} MiB; first fetch {first.TotalMilliseconds:0} ms CPU (encodes); " +
                                  $"cached {cached.TotalMilliseconds / fetches:0.0} ms CPU per fetch");
            }

            // After a change the first fetch of each revision encodes again; every other answers from the new bytes.
            var rebuilt = TimeSpan.Zero;
            for (var i = 0; i < 10; i++)
            {
                var body = "{\"address\":\"10.99.0.1\",\"port\":8080,\"persistent\":true}"u8.ToArray();
                using (var response = await client.PutAsync(new Uri($"/api/v1/namespaces/bench/services/app0/instances/changed{i}", UriKind.Relative), Workloads.JsonContent(body)))
                {
                    response.EnsureSuccessStatusCode();
                }

                rebuilt += (await FetchAsync(client, server, "application/json", gzip: true)).Cpu;
            }

            Console.WriteLine($"  after a change, the first JSON gzip fetch: {rebuilt.TotalMilliseconds / 10:0} ms CPU (the changed application encoded and compressed again, the others reused)");
        }

        Directory.Delete(directory, recursive: true);

        static async Task<(long Bytes, TimeSpan Cpu)> FetchAsync(HttpClient client, ServerProcess server, string accept, bool gzip)
        {
            var before = server.CpuTime();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/eureka/apps");
            request.Headers.Accept.ParseAdd(accept);
            if (gzip)
            {
                request.Headers.AcceptEncoding.ParseAdd("gzip");
            }

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            var bytes = (await response.Content.ReadAsByteArrayAsync()).LongLength;
            return (bytes, server.CpuTime() - before);
        }
    }
}
