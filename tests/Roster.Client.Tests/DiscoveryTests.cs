using System.Collections.Concurrent;

namespace Roster.Client.Tests;

/// <summary>Discovery against real registry nodes on loopback: following changes, outages, restarts, a rebuilt registry.</summary>
public sealed class DiscoveryTests : IAsyncLifetime
{
    private readonly string _cacheDirectory = Path.Combine(Path.GetTempPath(), "roster-discovery-" + Guid.NewGuid().ToString("N"));
    private readonly List<IAsyncDisposable> _owned = [];
    private RosterTestServer _node = null!;

    public async Task InitializeAsync() => _node = await RosterTestServer.StartAsync(inMemory: false);

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await _node.DisposeAsync();
        if (Directory.Exists(_cacheDirectory))
        {
            Directory.Delete(_cacheDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Follows_a_node_from_its_snapshot_through_every_kind_of_change()
    {
        var client = Client();
        await client.RegisterAsync(Instance("orders", "a", 8001));
        await client.RegisterAsync(Instance("orders", "b", 8002));
        var discovery = Discover(client);

        var first = await discovery.GetEndpointsAsync("orders");
        Assert.Equal(["a", "b"], Ids(first));
        Assert.Equal(EndpointSource.Live, first.Source);
        Assert.Equal("build-7", first.Endpoints[0].Metadata["build"]);

        await client.RegisterAsync(Instance("orders", "c", 8003));
        await ListIsAsync(discovery, "orders", "a", "b", "c");
        await client.DeregisterAsync("prod", "orders", "a");
        await ListIsAsync(discovery, "orders", "b", "c");
        await client.SetDrainedAsync("prod", "orders", "b", drained: true);
        await Eventually.TrueAsync(
            () => discovery.TryGetEndpoints("orders", out var e) && e.Endpoints[0] is { Id: "b", Drained: true, Weight: 0 },
            "b shows as drained");

        var unknown = await discovery.GetEndpointsAsync("nobody-home");
        Assert.True(unknown.Endpoints.IsEmpty);
        Assert.Equal(EndpointSource.Live, unknown.Source);
    }

    [Fact]
    public async Task Through_a_registry_outage_lists_are_kept_a_new_process_uses_the_disk_and_all_converge_after_restart()
    {
        var client = Client();
        await client.RegisterAsync(Instance("orders", "a", 8001) with { TtlSeconds = 60 });
        await client.RegisterAsync(Instance("orders", "b", 8002) with { TtlSeconds = 60 });
        var before = Discover(client, _cacheDirectory);
        await before.GetEndpointsAsync("orders");
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(_cacheDirectory, "prod", "orders.json")), "the list is saved");

        await _node.StopAsync();
        await Eventually.TrueAsync(() => before.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Cached, "the running consumer keeps its list");
        Assert.Equal(["a", "b"], Ids(await before.GetEndpointsAsync("orders")));

        var startedDuringOutage = Discover(Client(), _cacheDirectory);
        var fromDisk = await startedDuringOutage.GetEndpointsAsync("orders");
        Assert.Equal(EndpointSource.Disk, fromDisk.Source);
        Assert.Equal(["a", "b"], Ids(fromDisk));

        _node = await _node.StartAgainAsync();
        await client.RegisterAsync(Instance("orders", "c", 8003) with { TtlSeconds = 60 });
        foreach (var discovery in new[] { before, startedDuringOutage })
        {
            await Eventually.TrueAsync(
                () => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Live && Ids(e).SequenceEqual(["a", "b", "c"]),
                "the consumer converges on the restarted registry", TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_rebuilt_registry_does_not_empty_the_list_and_its_new_registrations_replace_it()
    {
        await using var memoryNode = await RosterTestServer.StartAsync(inMemory: true);
        var client = Client(memoryNode.Address);
        await client.RegisterAsync(Instance("orders", "a", 8001));
        await client.RegisterAsync(Instance("orders", "b", 8002));
        var discovery = Discover(client);
        await discovery.GetEndpointsAsync("orders");

        // An in-memory node started again is a new registry: new identity, nothing registered.
        await using var rebuilt = await memoryNode.StartAgainAsync();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Live, "the stream is back");
        Assert.Equal(["a", "b"], Ids(await discovery.GetEndpointsAsync("orders")));

        await client.RegisterAsync(Instance("orders", "b", 8002));
        await ListIsAsync(discovery, "orders", "b");
    }

    [Fact]
    public async Task Instances_whose_consul_check_fails_or_whose_eureka_status_is_not_up_get_no_new_requests()
    {
        await using var node = await RosterTestServer.StartAsync(true, "--Roster:Consul:Namespace=prod", "--Roster:Eureka:Namespace=prod");
        using var http = new HttpClient { BaseAddress = node.Address };
        async Task SendAsync(HttpMethod method, string path, string? json = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode}");
        }

        await SendAsync(HttpMethod.Put, "/v1/agent/service/register", """{"ID": "c1", "Name": "orders", "Address": "10.6.0.1", "Port": 8080, "Check": {"TTL": "60s"}}""");
        const string eureka = """{"instance": {"instanceId": "e1", "hostName": "10.6.0.2", "ipAddr": "10.6.0.2", "port": 8080, "status": "STATUS"}}""";
        await SendAsync(HttpMethod.Post, "/eureka/apps/ORDERS", eureka.Replace("STATUS", "STARTING", StringComparison.Ordinal));
        var discovery = Discover(Client(node.Address));
        bool Serving(string id) => discovery.TryGetEndpoints("orders", out var e) && e.Endpoints.Single(i => i.Id == id) is { Drained: false };

        await discovery.GetEndpointsAsync("orders");
        Assert.True(Serving("c1"));
        Assert.False(Serving("e1"));

        await SendAsync(HttpMethod.Put, "/v1/agent/check/fail/service:c1");
        await Eventually.TrueAsync(() => !Serving("c1"), "a failing Consul check takes c1 out");
        await SendAsync(HttpMethod.Put, "/v1/agent/check/pass/service:c1");
        await Eventually.TrueAsync(() => Serving("c1"), "a passing one brings it back");

        await SendAsync(HttpMethod.Post, "/eureka/apps/ORDERS", eureka.Replace("STATUS", "UP", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => Serving("e1"), "Eureka's UP brings e1 in");
        await SendAsync(HttpMethod.Post, "/eureka/apps/ORDERS", eureka.Replace("STATUS", "DOWN", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => !Serving("e1"), "DOWN takes it out");
    }

    /// <summary>
    /// Seed 000: a watcher map mutated from many threads without care loses subscribers and corrupts
    /// itself. Here threads subscribe, resolve and unsubscribe on the same and different services while
    /// changes stream; every subscriber still alive at the end must hold the final list.
    /// </summary>
    [Fact]
    public async Task Concurrent_subscribe_resolve_and_dispose_lose_no_subscriber()
    {
        var client = Client();
        var discovery = Discover(client);
        string[] services = ["s0", "s1", "s2", "s3"];
        var failures = new ConcurrentQueue<Exception>();
        var survivors = new ConcurrentBag<(string Service, ConcurrentQueue<ServiceEndpoints> Seen)>();
        using var stop = new CancellationTokenSource();

        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var service = services[i % services.Length];
                await client.RegisterAsync(Instance(service, $"i{i % 7}", 9000 + (i % 7)));
                if (i % 3 == 0)
                {
                    await client.DeregisterAsync("prod", service, $"i{(i + 3) % 7}");
                }
            }
        });

        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var round = 0; round < 150; round++)
            {
                var service = services[random.Next(services.Length)];
                try
                {
                    switch (random.Next(4))
                    {
                        case 0:
                            await discovery.GetEndpointsAsync(service);
                            break;
                        case 1:
                            using (discovery.Subscribe(service, _ => { }))
                            {
                                await Task.Yield();
                            }

                            break;
                        case 2:
                            using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                            {
                                await foreach (var _ in discovery.WatchAsync(service, cancel.Token))
                                {
                                    break;
                                }
                            }

                            break;
                        default:
                            if (round % 15 == 0)
                            {
                                var seen = new ConcurrentQueue<ServiceEndpoints>();
                                discovery.Subscribe(service, seen.Enqueue);
                                survivors.Add((service, seen));
                            }

                            break;
                    }
                }
#pragma warning disable CA1031 // Any exception at all is the failure this test looks for.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    failures.Enqueue(e);
                }
            }
        })).ToArray();

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await writer.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(failures);
        Assert.NotEmpty(survivors);
        foreach (var service in services)
        {
            var final = await _node.GetJsonAsync($"/api/v1/namespaces/prod/services/{service}");
            var finalIds = final.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToArray();
            foreach (var (_, seen) in survivors.Where(s => s.Service == service))
            {
                await Eventually.TrueAsync(
                    () => seen.LastOrDefault() is { } last && Ids(last).SequenceEqual(finalIds),
                    $"a surviving subscriber of {service} holds the final list [{string.Join(", ", finalIds)}]");
            }
        }
    }

    private RosterClient Client(Uri? node = null)
    {
        var options = new RosterClientOptions { CallTimeout = TimeSpan.FromSeconds(5), AttemptTimeout = TimeSpan.FromSeconds(2) };
        options.Servers.Add(node ?? _node.Address);
        var client = new RosterClient(options);
        _owned.Add(new DisposeAction(client.Dispose));
        return client;
    }

    private RosterDiscovery Discover(RosterClient client, string? cacheDirectory = null)
    {
        var discovery = new RosterDiscovery(client, new RosterDiscoveryOptions { Namespace = "prod", CacheDirectory = cacheDirectory });
        _owned.Add(discovery);
        return discovery;
    }

    private static InstanceRegistration Instance(string service, string id, int port) =>
        new("prod", service, id, "127.0.0.1", port) { Metadata = new Dictionary<string, string> { ["build"] = "build-7" } };

    private static string[] Ids(ServiceEndpoints endpoints) => [.. endpoints.Endpoints.Select(e => e.Id)];

    private static Task ListIsAsync(RosterDiscovery discovery, string service, params string[] ids) =>
        Eventually.TrueAsync(
            () => discovery.TryGetEndpoints(service, out var e) && Ids(e).SequenceEqual(ids),
            $"{service} lists [{string.Join(", ", ids)}]");

    private sealed class DisposeAction(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
