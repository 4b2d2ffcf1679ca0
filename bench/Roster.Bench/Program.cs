using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Roster.Bench;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;

// Usage: dotnet run -c Release --project bench/Roster.Bench -- [register|renew|fanout|memory|restart|all|cluster|console|console-services|storm|shed|consul-idle|eureka-fetch] [seconds]
var workload = args.Length > 0 ? args[0] : "all";
Workloads.ServerSettings = args.Skip(2).ToArray();
var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
Console.WriteLine($"Roster benchmark, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");

if (workload is "baseline" or "all") await Workloads.BaselineAsync(seconds, concurrency: 64);
if (workload is "register" or "all") await Workloads.RegisterAsync(seconds, concurrency: 64);
if (workload is "register-steady" or "all") await Workloads.RegisterAsync(seconds, concurrency: 64, idSpace: 10_000);
if (workload is "register-wrk" or "all") await Workloads.RegisterWithWrkAsync(seconds, connections: 64);
if (workload is "renew" or "all") await Workloads.RenewAsync(seconds, instances: 10_000, batch: 1000, concurrency: 4);
if (workload is "fanout" or "all") await Workloads.FanOutAsync(watchers: 1000, changes: 200, perSecond: 20);
if (workload is "expiry" or "all") await Workloads.MassExpiryAsync(instances: 10_000);
if (workload is "memory" or "all") await Workloads.MemoryAsync(instances: 100_000);
if (workload is "restart" or "all") await Workloads.RestartAsync(instances: 100_000);
if (workload is "alloc") await AllocationProbe.RunAsync(Workloads.BenchRegistrationBody());
if (workload is "cluster") await ClusterWorkloads.RunAsync(seconds);
if (workload is "console") await ConsoleWorkloads.RunAsync(instances: 10_000, changesPerSecond: 200, seconds: seconds);
if (workload is "console-services") await ConsoleWorkloads.ServiceListAsync(services: 2_000, seconds: seconds);
if (workload is "storm") await StormWorkload.RunAsync(seconds, stormConnections: 2_048, Workloads.ServerSettings);
if (workload is "shed") await StormWorkload.ShedCostAsync(seconds);
if (workload is "consul-idle") await CompatWorkloads.ConsulIdleAsync(seconds, blocked: 1_000);
if (workload is "eureka-fetch") await CompatWorkloads.EurekaFetchAsync(instances: 10_000, fetches: 50);

internal static class Workloads
{
    /// <summary>128 bytes of metadata keys and values, as the issue's memory target specifies.</summary>
    private static readonly Dictionary<string, string> Metadata = new()
    {
        ["team"] = "checkout-platform",
        ["owner"] = "payments-oncall@example.com",
        ["build"] = "2026.11.21-4f3c2a1b9e7d6c5b",
        ["region"] = "eu-west-1a",
        ["protocol"] = "http1+h2c",
        ["tier"] = "golden",
    };

    public static byte[] BenchRegistrationBody() => RegistrationBody(8080);

    public static byte[] LeasedRegistrationBody(int port, int ttl) => RegistrationBody(port, ttl);

    public static HttpClient Client(Uri address, int connections) => NewClient(address, connections);

    public static ByteArrayContent JsonContent(byte[] body) => Json(body);

    public static Task<int> RegisterAsync(HttpClient client, int concurrency, string prefix, Latencies latencies, DateTime until) =>
        RegisterManyAsync(client, int.MaxValue, concurrency, prefix, latencies, until);

    /// <summary>Extra <c>--Roster:...</c> settings for the server under test (arguments after the duration).</summary>
    public static string[] ServerSettings { get; set; } = [];

    private static string TempDirectory() => Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));

    private static HttpClient NewClient(Uri address, int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(60),
        };

    private static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        return content;
    }

    private static byte[] RegistrationBody(int port, int ttl = 60) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["address"] = "10.20.30.40",
        ["port"] = port,
        ["zone"] = "eu-west-1a",
        ["version"] = "1.4.2",
        ["metadata"] = Metadata,
        ["ttlSeconds"] = ttl,
    });

    private static async Task<int> RegisterManyAsync(
        HttpClient client, int count, int concurrency, string prefix, Latencies? latencies = null, DateTime? until = null, int? idSpace = null)
    {
        // With an id space, ids repeat; each registration of an id then carries another port, so it is
        // a real change (a new incarnation, a log entry, an event), not an idempotent repeat.
        var bodies = Enumerable.Range(0, idSpace is null ? 1 : 16).Select(p => RegistrationBody(8080 + p)).ToArray();
        var next = -1;
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var n = Interlocked.Increment(ref next);
                if (n >= count || (until is { } deadline && DateTime.UtcNow >= deadline))
                {
                    return;
                }

                var id = idSpace is { } space ? n % space : n;
                var body = bodies[idSpace is { } ids ? (n / ids) % bodies.Length : 0];
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/bench/services/svc{id % 50}/instances/{prefix}{id}", UriKind.Relative), Json(body));
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"register failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                latencies?.Add(Stopwatch.GetElapsedTime(started));
                Interlocked.Increment(ref done);
            }
        })));
        return done;
    }

    /// <summary>The server's own count of managed bytes allocated and garbage collections, from /metrics.</summary>
    private static async Task<(long Allocated, string Collections)> ServerGcAsync(HttpClient client)
    {
        var metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        long allocated = 0;
        var collections = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in metrics.Split('\n'))
        {
            // The runtime's own figures (meter System.Runtime): bytes allocated since start, collections by generation.
            if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes_total ", StringComparison.Ordinal))
            {
                allocated = long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("dotnet_gc_collections_total{gc_heap_generation=\"", StringComparison.Ordinal))
            {
                collections[line.Split('"')[1]] = line.Split(' ')[1];
            }
        }

        return (allocated, string.Join('/', collections.Values));
    }

    private static void Report(string name, int operations, TimeSpan elapsed, TimeSpan serverCpu, string unit)
    {
        Console.WriteLine($"  {name}: {operations / elapsed.TotalSeconds:N0} {unit}/s over {elapsed.TotalSeconds:0.0} s; " +
                          $"server CPU {serverCpu.TotalMicroseconds / operations:0.00} µs per {unit.TrimEnd('s')}, {serverCpu / elapsed:0.00} cores");
    }

    /// <summary>The floor: the same client and server doing the least an HTTP request can (GET /healthz).</summary>
    public static async Task BaselineAsync(int seconds, int concurrency)
    {
        Console.WriteLine($"baseline: GET /healthz, {concurrency} concurrent clients (HTTP cost with no registry work)");
        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, ServerSettings);
        await using (server)
        {
            using var client = NewClient(server.Address, concurrency);
            var done = 0;
            var until = DateTime.UtcNow.AddSeconds(seconds);
            var cpu = server.CpuTime();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                while (DateTime.UtcNow < until)
                {
                    using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
                    response.EnsureSuccessStatusCode();
                    Interlocked.Increment(ref done);
                }
            })));
            Report("requests", done, clock.Elapsed, server.CpuTime() - cpu, "requests");
        }

        Directory.Delete(directory, recursive: true);
    }

    public static async Task RegisterAsync(int seconds, int concurrency, int? idSpace = null)
    {
        Console.WriteLine(idSpace is null
            ? $"register: single-instance durable registrations, each a new instance, {concurrency} concurrent clients"
            : $"register-steady: single-instance durable re-registrations over {idSpace} ids (each changes the instance), {concurrency} concurrent clients");
        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, ServerSettings);
        await using (server)
        {
            using var client = NewClient(server.Address, concurrency);
            await RegisterManyAsync(client, 5000, concurrency, idSpace is null ? "warmup-" : "i", idSpace: idSpace);
            using var latencies = new Latencies();
            var gc = await ServerGcAsync(client);
            var cpu = server.CpuTime();
            var clock = Stopwatch.StartNew();
            var done = await RegisterManyAsync(client, int.MaxValue, concurrency, "i", latencies, DateTime.UtcNow.AddSeconds(seconds), idSpace);
            var elapsed = clock.Elapsed;
            Report("registrations", done, elapsed, server.CpuTime() - cpu, "registrations");
            var gcAfter = await ServerGcAsync(client);
            Console.WriteLine($"  server allocated {(gcAfter.Allocated - gc.Allocated) / done:N0} bytes per registration; GCs gen0/1/2 {gc.Collections} -> {gcAfter.Collections}");
            Console.WriteLine($"  latency {latencies.Summary()}");
        }

        Directory.Delete(directory, recursive: true);
    }

    /// <summary>
    /// The registration workload driven by wrk (Debian package <c>wrk</c>) and <c>bench/wrk/register.lua</c>:
    /// a load generator in C costs far less CPU than HttpClient, so the server gets more of the two cores.
    /// </summary>
    public static async Task RegisterWithWrkAsync(int seconds, int connections)
    {
        Console.WriteLine($"register-wrk: the same registrations driven by wrk, {connections} connections");
        var script = FindUp(Path.Combine("bench", "wrk", "register.lua"));
        if (!File.Exists("/usr/bin/wrk") || script is null)
        {
            Console.WriteLine("  skipped: needs /usr/bin/wrk (apt-get install wrk) and bench/wrk/register.lua");
            return;
        }

        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, ServerSettings);
        await using (server)
        {
            using var client = NewClient(server.Address, 4);
            await RunWrkAsync(script, server.Address, connections, 3);
            var gc = await ServerGcAsync(client);
            var cpu = server.CpuTime();
            var output = await RunWrkAsync(script, server.Address, connections, seconds);
            var serverCpu = server.CpuTime() - cpu;
            var gcAfter = await ServerGcAsync(client);
            string Field(string prefix) => output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? "?";
            var requests = long.Parse(Field("Requests/sec:").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].Split('.')[0], CultureInfo.InvariantCulture) * seconds;
            Console.WriteLine($"  {Field("Requests/sec:")}; server CPU {serverCpu.TotalMicroseconds / requests:0.00} µs per registration, {serverCpu.TotalSeconds / seconds:0.00} cores");
            Console.WriteLine($"  latency {Field("50%")}, {Field("90%")}, {Field("99%")}; {Field("non-2xx-or-errors")}; GCs gen0/1/2 {gc.Collections} -> {gcAfter.Collections}");
        }

        Directory.Delete(directory, recursive: true);
    }

    private static async Task<string> RunWrkAsync(string script, Uri address, int connections, int seconds)
    {
        var start = new ProcessStartInfo("/usr/bin/wrk") { RedirectStandardOutput = true };
        foreach (var arg in (string[])["-t1", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", script, address.ToString().TrimEnd('/')])
        {
            start.ArgumentList.Add(arg);
        }

        using var wrk = Process.Start(start)!;
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        return output;
    }

    private static string? FindUp(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static async Task RenewAsync(int seconds, int instances, int batch, int concurrency)
    {
        Console.WriteLine($"renew: {instances} instances renewed in batches of {batch}, {concurrency} concurrent clients");
        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, ServerSettings);
        await using (server)
        {
            using var client = NewClient(server.Address, 64);
            await RegisterManyAsync(client, instances, 64, "i");
            using var snapshot = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/v1/namespaces/bench/services", UriKind.Relative)));
            var leases = new List<object>();
            for (var s = 0; s < 50; s++)
            {
                using var service = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/api/v1/namespaces/bench/services/svc{s}", UriKind.Relative)));
                foreach (var instance in service.RootElement.GetProperty("instances").EnumerateArray())
                {
                    leases.Add(new { @namespace = "bench", service = $"svc{s}", id = instance.GetProperty("id").GetString(), incarnation = instance.GetProperty("incarnation").GetInt64() });
                }
            }

            var bodies = leases.Chunk(batch).Select(chunk => JsonSerializer.SerializeToUtf8Bytes(new { leases = chunk })).ToArray();
            var expected = Encoding.UTF8.GetBytes($"{{\"ok\":{batch},");
            var renewed = 0L;
            var gc = await ServerGcAsync(client);
            var until = DateTime.UtcNow.AddSeconds(seconds);
            var cpu = server.CpuTime();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(c => Task.Run(async () =>
            {
                for (var n = c; DateTime.UtcNow < until; n += concurrency)
                {
                    using var response = await client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), Json(bodies[n % bodies.Length]));
                    var answer = await response.Content.ReadAsByteArrayAsync();
                    if (!answer.AsSpan().StartsWith(expected))
                    {
                        throw new InvalidOperationException("renewal was not ok: " + Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(200, answer.Length))));
                    }

                    Interlocked.Add(ref renewed, batch);
                }
            })));
            Report("renewals", (int)renewed, clock.Elapsed, server.CpuTime() - cpu, "renewals");
            var gcAfter = await ServerGcAsync(client);
            Console.WriteLine($"  server allocated {(gcAfter.Allocated - gc.Allocated) / (double)renewed:N0} bytes per renewal");
        }

        Directory.Delete(directory, recursive: true);
    }

    public static async Task FanOutAsync(int watchers, int changes, int perSecond)
    {
        Console.WriteLine($"fanout: {watchers} watchers on one service, {changes} changes at {perSecond}/s");
        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, ServerSettings);
        await using (server)
        {
            using var client = NewClient(server.Address, watchers + 16);
            var sent = new System.Collections.Concurrent.ConcurrentDictionary<long, long>();
            var received = new long[watchers][];
            using var stop = new CancellationTokenSource();
            var readers = Enumerable.Range(0, watchers).Select(w => Task.Run(async () =>
            {
                var times = new List<long>();
                using var response = await client.GetAsync(new Uri("/api/v1/namespaces/bench/watch?service=fan&since=0", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, stop.Token);
                try
                {
                    // The revision comes from the frame's id line; the payload is not decoded, so the load
                    // generator's own parsing stays out of the latency.
                    var stream = await response.Content.ReadAsStreamAsync(stop.Token);
                    await foreach (var item in SseParser.Create(stream, static (_, _) => 0).EnumerateAsync(stop.Token))
                    {
                        if (item.EventType == "upsert")
                        {
                            var at = Stopwatch.GetTimestamp();
                            times.Add(long.Parse(item.EventId!, CultureInfo.InvariantCulture));
                            times.Add(at);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }

                received[w] = [.. times];
            })).ToArray();

            while (JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative))).RootElement.GetProperty("watchers").GetInt32() < watchers)
            {
                await Task.Delay(50);
            }

            var cpu = server.CpuTime();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < changes; i++)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PutAsync(new Uri("/api/v1/namespaces/bench/services/fan/instances/a", UriKind.Relative), Json(RegistrationBody(1 + i)));
                var revision = long.Parse(response.Headers.GetValues("Roster-Revision").Single(), CultureInfo.InvariantCulture);
                sent[revision] = started;
                var due = TimeSpan.FromSeconds((i + 1) / (double)perSecond);
                if (clock.Elapsed < due)
                {
                    await Task.Delay(due - clock.Elapsed);
                }
            }

            await Task.Delay(1000);
            var serverCpu = server.CpuTime() - cpu;
            await stop.CancelAsync();
            await Task.WhenAll(readers);

            using var latencies = new Latencies();
            var missed = 0;
            foreach (var times in received)
            {
                var seen = 0;
                for (var k = 0; k < times.Length; k += 2)
                {
                    if (sent.TryGetValue(times[k], out var start))
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(start, times[k + 1]));
                        seen++;
                    }
                }

                missed += changes - seen;
            }

            Console.WriteLine($"  write sent to watcher received: {latencies.Summary()}; changes missed across all watchers: {missed}");
            Console.WriteLine($"  server CPU {serverCpu.TotalMicroseconds / (changes * (double)watchers):0.00} µs per delivered event");
        }

        Directory.Delete(directory, recursive: true);
    }

    /// <summary>
    /// Mass expiry: leases nobody renews, all due at about the same time (self-preservation off for the
    /// run). How long after the TTL until a watcher has seen every delete, and over how long they arrive.
    /// </summary>
    public static async Task MassExpiryAsync(int instances)
    {
        Console.WriteLine($"expiry: {instances} unrenewed leases (TTL 2 s) expire at once; a watcher counts the deletes");
        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, [.. ServerSettings, "--Roster:Node:SelfPreservationThreshold=1"]);
        await using (server)
        {
            using var client = NewClient(server.Address, 64);
            var body = RegistrationBody(8080, ttl: 2);
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
            {
                int n;
                while ((n = Interlocked.Increment(ref next)) < instances)
                {
                    using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/bench/services/exp/instances/i{n}", UriKind.Relative), Json(body));
                    response.EnsureSuccessStatusCode();
                }
            })));
            var lastRegistered = Stopwatch.GetTimestamp();

            long lastDelete = 0;
            var deletes = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var response = await client.GetAsync(new Uri($"/api/v1/namespaces/bench/watch?service=exp&since=0", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync(timeout.Token), static (_, _) => 0).EnumerateAsync(timeout.Token))
            {
                if (item.EventType == "delete")
                {
                    lastDelete = Stopwatch.GetTimestamp();
                    if (++deletes == instances)
                    {
                        break;
                    }
                }
            }

            var dueAt = lastRegistered + (2 * Stopwatch.Frequency);
            // The first deletes may come before the watch is read (registering takes a moment): counted, not timed.
            Console.WriteLine($"  all {deletes} deletes seen {Stopwatch.GetElapsedTime(dueAt, lastDelete).TotalMilliseconds:0} ms after the last lease was due " +
                              $"(the expiry pass runs every 250 ms)");
        }

        Directory.Delete(directory, recursive: true);
    }

    public static async Task MemoryAsync(int instances)
    {
        Console.WriteLine($"memory: {instances} instances with 128 bytes of metadata, managed heap of an in-process node");
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var node = await RegistryNode.StartAsync(NodeStorage.InMemory(), new RegistryNodeOptions(), TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        await node.WhenReady;
        var metadata = InstanceMetadata.From(Metadata);
        var metadataBytes = Metadata.Sum(p => Encoding.UTF8.GetByteCount(p.Key) + Encoding.UTF8.GetByteCount(p.Value));
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < instances)
            {
                var registration = new Registration($"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 8080, "http", "eu-west-1a", "1.4.2", 100, metadata, InstanceKind.Ephemeral, 10);
                await node.SubmitAsync(new RegisterChange(new InstanceKey("bench", $"svc{n % 50}", $"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}:8080"), registration, 0), CancellationToken.None);
            }
        })));
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"  {node.State.InstanceCount} instances ({metadataBytes} bytes of metadata each): managed heap +{(after - before) / 1048576.0:0.0} MB, {(after - before) / (double)instances:0} bytes per instance (includes the 50 000-change watch history)");
        await node.DisposeAsync();
        GC.KeepAlive(node);
    }

    public static async Task RestartAsync(int instances)
    {
        Console.WriteLine($"restart: a data directory holding {instances} instances");
        var directory = TempDirectory();
        var (server, _) = await ServerProcess.StartAsync(directory, ServerSettings);
        using (var client = NewClient(server.Address, 64))
        {
            await RegisterManyAsync(client, instances, 64, "i");
        }

        Console.WriteLine($"  server RSS with {instances} instances: {server.ResidentBytes() / 1048576.0:0} MB ({server.ResidentBytes() / instances} bytes per instance)");
        await server.KillAsync();
        await server.DisposeAsync();

        var (afterKill, killReady) = await ServerProcess.StartAsync(directory, ServerSettings);
        Console.WriteLine($"  after SIGKILL (replays the log): process start to ready {killReady.TotalMilliseconds:0} ms");
        await afterKill.StopGracefullyAsync();
        await afterKill.DisposeAsync();

        var (afterStop, stopReady) = await ServerProcess.StartAsync(directory, ServerSettings);
        Console.WriteLine($"  after a graceful stop (loads the checkpoint): process start to ready {stopReady.TotalMilliseconds:0} ms");
        await afterStop.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}
