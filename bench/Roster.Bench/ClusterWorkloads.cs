using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Roster.Benchmarks;
using Roster.Testing;

namespace Roster.Bench;

/// <summary>
/// Roster as a cluster: three <c>roster serve --cluster</c> processes and three RabbitMQ brokers on this machine.
/// Server CPU is summed over all six processes (the brokers count as Roster's).
/// <list type="bullet">
/// <item><b>W1</b>: registrations/s with 64 clients spread over the three nodes.</item>
/// <item><b>W3</b>: propagation, from a write acknowledged at node 1 to the event at watchers on nodes 2 and 3.</item>
/// <item><b>Failover</b>: SIGKILL of node 3 while a watcher and 200 leased instances' agents use it: time until the
/// watcher gets events from another node, and until another node owns the leases.</item>
/// </list>
/// </summary>
internal static class ClusterWorkloads
{
    public static async Task RunAsync(int seconds)
    {
        Console.WriteLine("cluster: 3 roster nodes + 3 RabbitMQ brokers on this machine (server CPU summed over all six)");
        var clock = Stopwatch.StartNew();
        await using var brokers = await BrokerCluster.StartAsync();
        Console.WriteLine($"  brokers ready in {clock.Elapsed.TotalSeconds:0.0} s");
        var directories = Enumerable.Range(0, 3).Select(_ => Path.Combine(Path.GetTempPath(), "roster-bench-cluster-" + Guid.NewGuid().ToString("N")[..8])).ToList();
        var nodes = new List<ServerProcess>();
        try
        {
            foreach (var directory in directories)
            {
                var (node, _) = await ServerProcess.StartAsync(directory, ["--cluster", string.Join(',', brokers.Addresses), .. Workloads.ServerSettings]);
                nodes.Add(node);
            }

            await RegistrationsAsync(nodes, brokers, seconds);
            await PropagationAsync(nodes, changes: 200, perSecond: 20);
            await FailoverAsync(nodes);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            foreach (var directory in directories)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static async Task RegistrationsAsync(List<ServerProcess> nodes, BrokerCluster brokers, int seconds)
    {
        var clients = nodes.Select(n => Workloads.Client(n.Address, 22)).ToList();
        try
        {
            using (var warmup = new Latencies())
            {
                await Task.WhenAll(clients.Select((c, i) => Workloads.RegisterAsync(c, 21, $"warmup{i}-", warmup, DateTime.UtcNow.AddSeconds(2))));
            }

            using var latencies = new Latencies();
            var rosterCpu = Cpu(nodes.Select(n => n.Pid));
            var brokerCpu = Cpu(brokers.Pids);
            var clock = Stopwatch.StartNew();
            var until = DateTime.UtcNow.AddSeconds(seconds);
            var done = (await Task.WhenAll(clients.Select((c, i) => Workloads.RegisterAsync(c, 21, $"n{i}-", latencies, until)))).Sum();
            var elapsed = clock.Elapsed;
            var rosterUsed = Cpu(nodes.Select(n => n.Pid)) - rosterCpu;
            var brokerUsed = Cpu(brokers.Pids) - brokerCpu;
            Console.WriteLine($"  W1 registrations: {done / elapsed.TotalSeconds:N0} registrations/s over {elapsed.TotalSeconds:0.0} s (64 clients over 3 nodes)");
            Console.WriteLine($"     server CPU {(rosterUsed + brokerUsed).TotalMicroseconds / done:0.0} µs per registration " +
                              $"(roster nodes {rosterUsed.TotalMicroseconds / done:0.0}, brokers {brokerUsed.TotalMicroseconds / done:0.0}), {(rosterUsed + brokerUsed) / elapsed:0.00} cores");
            Console.WriteLine($"     latency {latencies.Summary()}");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static async Task PropagationAsync(List<ServerProcess> nodes, int changes, int perSecond)
    {
        using var stop = new CancellationTokenSource();
        var received = new ConcurrentDictionary<(int Watcher, string Id), long>();
        var watchers = Enumerable.Range(1, 2).Select(n => Task.Run(() => WatchAsync(nodes, n, "prop", (id, _) => received.TryAdd((n, id), Stopwatch.GetTimestamp()), stop.Token))).ToList();
        using var client = Workloads.Client(nodes[0].Address, 4);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var acknowledged = new Dictionary<string, long>();
        var interval = TimeSpan.FromSeconds(1.0 / perSecond);
        var next = Stopwatch.GetTimestamp();
        for (var i = 0; i < changes; i++)
        {
            var id = $"p{i}";
            using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/prop/services/orders/instances/{id}", UriKind.Relative), Workloads.JsonContent(Workloads.BenchRegistrationBody()));
            response.EnsureSuccessStatusCode();
            acknowledged[id] = Stopwatch.GetTimestamp();
            next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        await stop.CancelAsync();
        await Task.WhenAll(watchers);
        var delays = received.Where(r => acknowledged.ContainsKey(r.Key.Id))
            .Select(r => Math.Max(0, Stopwatch.GetElapsedTime(acknowledged[r.Key.Id], r.Value).TotalMilliseconds))
            .Order()
            .ToArray();
        var missed = (2 * changes) - delays.Length;
        double At(double p) => delays.Length == 0 ? double.NaN : delays[Math.Min(delays.Length - 1, (int)(p * delays.Length))];
        Console.WriteLine($"  W3 propagation, write acknowledged at node 1 -> event at watchers on nodes 2 and 3: " +
                          $"p50 {At(0.5):0.00} ms, p99 {At(0.99):0.00} ms, max {At(1):0.00} ms; {missed} of {2 * changes} missed");
    }

    private static async Task FailoverAsync(List<ServerProcess> nodes)
    {
        const int Leases = 200;
        using var stop = new CancellationTokenSource();
        using var client = Workloads.Client(nodes[2].Address, 8);
        var incarnations = new List<(string Id, long Incarnation)>();
        for (var i = 0; i < Leases; i++)
        {
            using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/fo/services/orders/instances/l{i}", UriKind.Relative), Workloads.JsonContent(Workloads.LeasedRegistrationBody(9000 + i, 10)));
            response.EnsureSuccessStatusCode();
            using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            incarnations.Add(($"l{i}", answer.RootElement.GetProperty("incarnation").GetInt64()));
        }

        // The agents renew at node 3 every second, and at node 1 once node 3 is gone.
        var renewBody = JsonSerializer.SerializeToUtf8Bytes(new { leases = incarnations.Select(l => new { @namespace = "fo", service = "orders", id = l.Id, incarnation = l.Incarnation }) });
        var agents = Task.Run(async () =>
        {
            var node = 2;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var http = Workloads.Client(nodes[node].Address, 1);
                    using var response = await http.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), Workloads.JsonContent(renewBody), stop.Token);
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
                }
                catch (HttpRequestException)
                {
                    node = 0;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        // A watcher on node 3 that resumes at node 1; a writer at node 2 every 50 ms.
        long killedAt = 0, firstEventElsewhere = 0;
        var watcher = Task.Run(() => WatchAsync(nodes, 2, "fo", (_, node) =>
        {
            if (node != 2 && Volatile.Read(ref killedAt) != 0)
            {
                Interlocked.CompareExchange(ref firstEventElsewhere, Stopwatch.GetTimestamp(), 0);
            }
        }, stop.Token));
        var writer = Task.Run(async () =>
        {
            using var http = Workloads.Client(nodes[1].Address, 1);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                using var response = await http.PutAsync(new Uri($"/api/v1/namespaces/fo/services/writes/instances/w{i}", UriKind.Relative), Workloads.JsonContent(Workloads.BenchRegistrationBody()));
                await Task.Delay(50);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(2));
        await nodes[2].KillAsync();
        Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
        using var status = Workloads.Client(nodes[0].Address, 1);
        var leasesOwned = TimeSpan.Zero;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var document = JsonDocument.Parse(await status.GetStringAsync(new Uri("/api/v1/status", UriKind.Relative)));
            if (document.RootElement.GetProperty("leases").GetInt32() >= Leases)
            {
                leasesOwned = Stopwatch.GetElapsedTime(killedAt);
                break;
            }

            await Task.Delay(20);
        }

        while (Volatile.Read(ref firstEventElsewhere) == 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await Task.WhenAll(agents, watcher, writer.ContinueWith(_ => { }, TaskScheduler.Default));
        var watcherBack = firstEventElsewhere == 0 ? "never" : $"{Stopwatch.GetElapsedTime(killedAt, firstEventElsewhere).TotalMilliseconds:0} ms";
        Console.WriteLine($"  failover after SIGKILL of node 3: its watcher got events from another node after {watcherBack}; " +
                          $"its {Leases} leases were owned by another node after {(leasesOwned == TimeSpan.Zero ? "more than 30 s" : $"{leasesOwned.TotalMilliseconds:0} ms")}");
    }

    /// <summary>Follows a namespace's watch at node <paramref name="first"/>, resuming at node 1 from the last revision
    /// when the stream breaks; calls <paramref name="onEvent"/> with each upserted instance id and the node it came from.</summary>
    private static async Task WatchAsync(List<ServerProcess> nodes, int first, string @namespace, Action<string, int> onEvent, CancellationToken cancellationToken)
    {
        var node = first;
        long revision = 0;
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var uri = new Uri(nodes[node].Address, $"/api/v1/namespaces/{@namespace}/watch" + (revision > 0 ? $"?since={revision}" : string.Empty));
                using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                string? name = null;
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        name = line[7..];
                    }
                    else if (line.StartsWith("id: ", StringComparison.Ordinal))
                    {
                        revision = long.Parse(line[4..], CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal) && name == "upsert")
                    {
                        using var data = JsonDocument.Parse(line[6..]);
                        onEvent(data.RootElement.GetProperty("instance").GetProperty("id").GetString()!, node);
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }

            node = 0;
        }
    }

    private static TimeSpan Cpu(IEnumerable<int> pids) => pids.Aggregate(TimeSpan.Zero, (sum, pid) => sum + ProcessStats.CpuTime(pid));
}
