using System.Diagnostics;
using System.Net.Http.Json;
using Xunit.Abstractions;

namespace Roster.Client.Tests.Processes;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeparateProcesses
{
    // Separate processes compete for this machine's cores: these tests run alone.
    public const string Name = "processes";
}

/// <summary>
/// The issue's scenarios with every part its own OS process on loopback: <c>roster serve</c>, the
/// sample providers (samples/Orders.Provider) and the sample consumer (samples/Orders.Consumer), driven
/// over HTTP. Providers are stopped with SIGTERM (graceful) or SIGKILL (crash), by PID.
/// </summary>
[Collection(SeparateProcesses.Name)]
public sealed class ProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "roster-process-test-" + Guid.NewGuid().ToString("N"));
    private readonly List<AppProcess> _processes = [];
    private readonly int _registryPort = AppProcess.FreePort();
    private AppProcess _registry = null!;

    private Uri RegistryAddress => new($"http://127.0.0.1:{_registryPort}");

    private string DataDirectory => Path.Combine(_directory, "registry");

    private string CacheDirectory => Path.Combine(_directory, "consumer-cache");

    public async Task InitializeAsync() => _registry = Track(await AppProcess.StartRegistryAsync(_registryPort, DataDirectory));

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Restarting_three_provider_processes_one_by_one_fails_no_consumer_request()
    {
        var providers = new List<AppProcess>();
        for (var i = 0; i < 3; i++)
        {
            providers.Add(await StartProviderAsync($"provider-{i}"));
        }

        var consumer = await StartConsumerAsync("consumer");
        await WaitForOrdersAsync(consumer, providers);
        var load = new ConsumerLoad(consumer.Address, callers: 4);
        try
        {
            await load.SendAtLeastAsync(200, TimeSpan.FromSeconds(60));
            for (var i = 0; i < providers.Count; i++)
            {
                // Graceful stop (drain, wait, deregister, exit), then a new process on a new port.
                await providers[i].StopAsync();
                providers[i] = await StartProviderAsync($"provider-{i}-new");
                await WaitForOrdersAsync(consumer, providers);
                await load.SendAtLeastAsync(200, TimeSpan.FromSeconds(60));
            }

            await Eventually.TrueAsync(() => load.Sent >= 2_000, "at least 2,000 requests were answered", TimeSpan.FromSeconds(120));
        }
        finally
        {
            await load.DisposeAsync();
        }

        output.WriteLine($"rolling upgrade: {load.Sent} requests, {load.Failures.Count} failed; served by {string.Join(", ", load.ServedBy.Select(p => $"{p.Key}: {p.Value}"))}");
        Assert.True(load.Failures.Count == 0, $"{load.Failures.Count} of {load.Sent} requests failed:{Environment.NewLine}"
            + string.Join(Environment.NewLine, load.Failures.Take(20)) + Environment.NewLine + consumer.Output());
        Assert.True(load.Sent >= 2_000);
        Assert.All(providers, provider => Assert.True(load.ServedBy.GetValueOrDefault(provider.Pid) > 0, $"{provider.Name} served nothing"));
    }

    [Fact]
    public async Task The_yarp_gateway_forwards_through_a_rolling_restart_of_three_providers_without_a_failed_request()
    {
        var providers = new List<AppProcess>();
        for (var i = 0; i < 3; i++)
        {
            providers.Add(await StartProviderAsync($"provider-{i}"));
        }

        // The gateway knows nothing of Roster's handler: YARP picks destinations from what
        // Microsoft.Extensions.ServiceDiscovery resolves through Roster, and retries nothing.
        var gateway = Track(await AppProcess.StartGatewayAsync("gateway", RegistryAddress, "--Logging:LogLevel:Roster=Debug", "--Logging:LogLevel:Microsoft.Extensions.ServiceDiscovery=Debug"));
        var load = new ConsumerLoad(gateway.Address, callers: 4);
        try
        {
            await WaitUntilServedByAsync(load, providers);
            for (var i = 0; i < providers.Count; i++)
            {
                await providers[i].StopAsync();
                providers[i] = await StartProviderAsync($"provider-{i}-new");
                await WaitUntilServedByAsync(load, providers);
            }

            await Eventually.TrueAsync(() => load.Sent >= 1_000, "at least 1,000 requests were answered", TimeSpan.FromSeconds(120));
        }
        finally
        {
            await load.DisposeAsync();
        }

        output.WriteLine($"gateway rolling upgrade: {load.Sent} requests, {load.Failures.Count} failed; served by {string.Join(", ", load.ServedBy.Select(p => $"{p.Key}: {p.Value}"))}");
        Assert.True(load.Failures.Count == 0, $"{load.Failures.Count} of {load.Sent} requests failed:{Environment.NewLine}"
            + string.Join(Environment.NewLine, load.Failures.Take(20)) + Environment.NewLine + gateway.Output());
    }

    [Fact]
    public async Task Through_a_registry_outage_consumers_keep_calling_and_everything_converges_after_the_restart()
    {
        var providers = new List<AppProcess> { await StartProviderAsync("provider-0"), await StartProviderAsync("provider-1") };
        var running = await StartConsumerAsync("consumer-running");
        await WaitForOrdersAsync(running, providers);
        await Eventually.TrueAsync(
            () => File.Exists(Path.Combine(CacheDirectory, "samples", "orders.json")), "the consumer saved the list to its cache directory");

        // The outage: the registry process is stopped.
        await _registry.StopAsync();
        await Eventually.TrueAsync(async () => (await StatusAsync(running)).Orders?.Source == "cached", "the running consumer marks its list cached");
        await using (var load = new ConsumerLoad(running.Address, callers: 2))
        {
            await load.SendAtLeastAsync(300, TimeSpan.FromSeconds(60));
            await load.DisposeAsync();
            Assert.True(load.Failures.Count == 0, "during the outage: " + string.Join(Environment.NewLine, load.Failures.Take(20)));
        }

        // A consumer started while the registry is down has only the cache directory.
        var started = await StartConsumerAsync("consumer-started-during-outage");
        await using (var load = new ConsumerLoad(started.Address, callers: 2))
        {
            await load.SendAtLeastAsync(300, TimeSpan.FromSeconds(60));
            await load.DisposeAsync();
            Assert.True(load.Failures.Count == 0, "from the disk cache: " + string.Join(Environment.NewLine, load.Failures.Take(20)) + started.Output());
            Assert.Equal(providers.Select(p => p.Pid).Order(), load.ServedBy.Keys.Order());
        }

        var fromDisk = (await StatusAsync(started)).Orders!;
        Assert.Equal("disk", fromDisk.Source);
        Assert.Equal(Ports(providers), fromDisk.Endpoints.Select(e => e.Port).Order());

        // The registry comes back on the same data directory and port; nobody is restarted.
        _registry = Track(await AppProcess.StartRegistryAsync(_registryPort, DataDirectory));
        foreach (var consumer in (AppProcess[])[running, started])
        {
            await WaitForOrdersAsync(consumer, providers);
        }

        using var registry = new HttpClient { BaseAddress = RegistryAddress };
        var listed = await registry.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri("/api/v1/namespaces/samples/services/orders", UriKind.Relative));
        Assert.Equal(Ports(providers), listed.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("port").GetInt32()).Order());
        await using (var load = new ConsumerLoad(started.Address, callers: 2))
        {
            await load.SendAtLeastAsync(100, TimeSpan.FromSeconds(60));
            await load.DisposeAsync();
            Assert.Empty(load.Failures);
        }
    }

    [Fact]
    public async Task A_killed_provider_is_ejected_at_once_and_gone_from_the_consumer_within_its_ttl_plus_one_second()
    {
        const int ttlSeconds = 3;
        var providers = new List<AppProcess>();
        for (var i = 0; i < 3; i++)
        {
            providers.Add(await StartProviderAsync($"provider-{i}", $"--Roster:Registration:TtlSeconds={ttlSeconds}"));
        }

        var consumer = await StartConsumerAsync("consumer", "--Roster:Discovery:LoadBalancing:Policy=RoundRobin");
        await WaitForOrdersAsync(consumer, providers);
        var victim = providers[0];
        TimeSpan? ejectedAt = null;
        TimeSpan? goneAt = null;
        long sentWhenEjected = 0;
        long sentLastSeen = 0;
        var load = new ConsumerLoad(consumer.Address, callers: 4);
        try
        {
            await load.SendAtLeastAsync(200, TimeSpan.FromSeconds(60));
            var clock = Stopwatch.StartNew();
            await victim.KillAsync();
            while (goneAt is null && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                var orders = (await StatusAsync(consumer)).Orders!;
                var seen = orders.Endpoints.SingleOrDefault(e => e.Port == victim.Address.Port);
                if (seen is null)
                {
                    goneAt = clock.Elapsed;
                    break;
                }

                sentLastSeen = seen.Sent;
                if (ejectedAt is null && seen.EjectedForSeconds > 0)
                {
                    ejectedAt = clock.Elapsed;
                    sentWhenEjected = seen.Sent;
                }

                await Task.Delay(20);
            }

            await load.SendAtLeastAsync(200, TimeSpan.FromSeconds(60));
        }
        finally
        {
            await load.DisposeAsync();
        }

        output.WriteLine($"killed provider: ejected after {ejectedAt?.TotalMilliseconds:0} ms, removed after {goneAt?.TotalMilliseconds:0} ms; "
            + $"sent {sentWhenEjected} when ejected, {sentLastSeen} when last listed; {load.Sent} requests, {load.Failures.Count} failed");
        Assert.True(goneAt is not null, "the killed provider was never removed from the consumer's list");
        Assert.True(goneAt <= TimeSpan.FromSeconds(ttlSeconds + 1), $"removed {goneAt!.Value.TotalMilliseconds:0} ms after the kill");
        Assert.True(ejectedAt is not null && ejectedAt < goneAt, $"ejected at {ejectedAt?.TotalMilliseconds:0} ms, removed at {goneAt.Value.TotalMilliseconds:0} ms");

        // Once ejected it was sent nothing more (a request or two picked at that very moment aside).
        Assert.InRange(sentLastSeen - sentWhenEjected, 0, 4);
        Assert.True(load.Failures.Count == 0, string.Join(Environment.NewLine, load.Failures.Take(20)));
        Assert.True(load.ServedBy.GetValueOrDefault(victim.Pid) > 0, "the killed provider served nothing before it was killed");
    }

    [Fact]
    public async Task The_sample_consumer_calls_orders_from_the_registry_a_static_list_etcd_or_kubernetes_by_configuration_alone()
    {
        var provider = await StartProviderAsync("provider");
        await using var etcd = await EtcdProcess.StartAsync();
        var lease = await etcd.GrantLeaseAsync(60);
        await etcd.PutAsync($"orders.rpc/{lease}", provider.Address.Authority, lease);
        await using var kubernetes = await EndpointSliceApiServer.StartAsync();
        kubernetes.Apply("shop", "orders", "orders-1", provider.Address.Port, new SliceEndpoint("127.0.0.1"));
        Directory.CreateDirectory(_directory);
        var kubeconfig = Path.Combine(_directory, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {kubernetes.Address}
            users:
            - name: test
              user:
                token: test
            contexts:
            - name: test
              context:
                cluster: test
                user: test
            current-context: test
            """);

        (string Origin, string[] Settings)[] sources =
        [
            ("registry", []),
            ("static", [$"--Roster:Discovery:Sources:orders=static://{provider.Address.Authority}"]),
            ("etcd", [$"--Roster:Discovery:Sources:orders=etcd://{etcd.Member}/orders.rpc"]),
            ("k8s", [$"--Roster:Discovery:Sources:orders=k8s://shop/orders:{provider.Address.Port}"]),
        ];
        foreach (var (origin, settings) in sources)
        {
            var consumer = Track(await AppProcess.StartConsumerAsync(
                $"consumer-{origin}", RegistryAddress, new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig }, settings));
            using var client = new HttpClient { BaseAddress = consumer.Address };
            var answer = await client.GetFromJsonAsync<OrderAnswer>(new Uri("/orders/7", UriKind.Relative));
            Assert.Equal(provider.Pid, answer!.ServedBy);
            var status = await StatusAsync(consumer);
            Assert.Equal((origin, origin == "static" ? "static" : "live"), (status.Orders!.Origin, status.Orders.Source));
            await consumer.StopAsync();
        }

        Assert.Contains(kubernetes.UserAgents, agent => agent.StartsWith("kubernetes-csharp/", StringComparison.Ordinal));
    }

    private sealed record OrderAnswer(string Id, int ServedBy);

    private async Task<AppProcess> StartProviderAsync(string name, params string[] settings) =>
        Track(await AppProcess.StartProviderAsync(name, RegistryAddress, ["--Roster:Registration:Agent:DrainPeriod=00:00:01", .. settings]));

    private async Task<AppProcess> StartConsumerAsync(string name, params string[] settings) =>
        Track(await AppProcess.StartConsumerAsync(name, RegistryAddress, [$"--Roster:Discovery:CacheDirectory={CacheDirectory}", .. settings]));

    private AppProcess Track(AppProcess process)
    {
        _processes.Add(process);
        return process;
    }

    private static async Task<ConsumerStatus> StatusAsync(AppProcess consumer)
    {
        using var client = new HttpClient { BaseAddress = consumer.Address };
        return await ConsumerStatus.ReadAsync(client);
    }

    /// <summary>Waits until every one of <paramref name="providers"/> has answered some of the load's requests.</summary>
    private static Task WaitUntilServedByAsync(ConsumerLoad load, IReadOnlyList<AppProcess> providers) =>
        Eventually.TrueAsync(
            () => providers.All(p => load.ServedBy.GetValueOrDefault(p.Pid) > 0),
            $"{string.Join(", ", providers.Select(p => p.Name))} served requests",
            TimeSpan.FromSeconds(60));

    /// <summary>Waits until the consumer's live list of "orders" is exactly <paramref name="providers"/> (asking for it once first).</summary>
    private static async Task WaitForOrdersAsync(AppProcess consumer, IReadOnlyList<AppProcess> providers)
    {
        using var client = new HttpClient { BaseAddress = consumer.Address };
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    using var first = await client.GetAsync(new Uri("/orders/warm-up", UriKind.Relative));
                }
                catch (HttpRequestException)
                {
                }

                var orders = (await ConsumerStatus.ReadAsync(client)).Orders;
                return orders is { Source: "live" } && orders.Endpoints.Where(e => !e.Drained).Select(e => e.Port).Order().SequenceEqual(Ports(providers));
            },
            $"{consumer.Name} lists exactly {string.Join(", ", providers.Select(p => p.Name))}",
            TimeSpan.FromSeconds(60));
    }

    private static IEnumerable<int> Ports(IEnumerable<AppProcess> providers) => providers.Select(p => p.Address.Port).Order();
}
