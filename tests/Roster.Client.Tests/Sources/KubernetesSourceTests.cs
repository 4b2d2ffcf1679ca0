using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Roster.Client.Kubernetes;

namespace Roster.Client.Tests.Sources;

/// <summary>
/// k8s:// sources through the official Kubernetes client against <see cref="EndpointSliceApiServer"/> (no API server can
/// be installed here): providers are real Kestrel servers on 127.0.0.2, .3 and .4, one port, as pods behind a Service;
/// the test changes their EndpointSlices and the consumer calls them by name.
/// </summary>
public sealed class KubernetesSourceTests : IAsyncLifetime
{
    private readonly List<WebApplication> _providers = [];
    private EndpointSliceApiServer _api = null!;
    private ServiceProvider? _consumer;
    private int _port;

    public async Task InitializeAsync()
    {
        _api = await EndpointSliceApiServer.StartAsync();
        _port = await StartPodsAsync("127.0.0.2", "127.0.0.3", "127.0.0.4");
    }

    public async Task DisposeAsync()
    {
        if (_consumer is not null)
        {
            await _consumer.DisposeAsync();
        }

        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Ready_endpoints_take_requests_terminating_ones_none_and_not_ready_ones_are_left_out()
    {
        _api.Apply("shop", "inventory", "inventory-abc", _port,
            new SliceEndpoint("127.0.0.2", Zone: "zone-a", Pod: "inventory-1"),
            new SliceEndpoint("127.0.0.3", Zone: "zone-b", Pod: "inventory-2"),
            new SliceEndpoint("127.0.0.4", Ready: false, Serving: false, Terminating: false, Pod: "inventory-3"));
        var http = Consumer($"k8s://shop/inventory:{_port}");

        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        var list = await discovery.GetEndpointsAsync("inventory");
        Assert.Equal(("k8s", EndpointSource.Live), (list.Origin, list.Source));
        Assert.Equal([$"127.0.0.2:{_port}", $"127.0.0.3:{_port}"], list.Endpoints.Select(e => e.Id));
        Assert.Equal(["zone-a", "zone-b"], list.Endpoints.Select(e => e.Zone));
        Assert.Equal("inventory-1", list.Endpoints[0].Metadata["k8s-pod"]);
        Assert.Equal(["127.0.0.2", "127.0.0.3"], await CalledAsync(http, 40));

        // The pod on .3 is terminating but still serving: it finishes what it has and gets nothing new. .4 becomes ready.
        _api.Apply("shop", "inventory", "inventory-abc", _port,
            new SliceEndpoint("127.0.0.2", Zone: "zone-a"),
            new SliceEndpoint("127.0.0.3", Ready: false, Serving: true, Terminating: true, Zone: "zone-b"),
            new SliceEndpoint("127.0.0.4"));
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("inventory", out var l) && l.Endpoints.Length == 3 && l.Endpoints[1].Drained, "the terminating pod is drained");
        Assert.Equal(["127.0.0.2", "127.0.0.4"], await CalledAsync(http, 40));

        // Gone from the slice, then the slice itself deleted: the API server said so, so the list empties.
        _api.Apply("shop", "inventory", "inventory-abc", _port, new SliceEndpoint("127.0.0.2"), new SliceEndpoint("127.0.0.4"));
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("inventory", out var l) && l.Endpoints.Length == 2, ".3 is gone");
        _api.Delete("shop", "inventory-abc");
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("inventory", out var l) && l.Endpoints.IsEmpty, "the list is empty");

        // It was the Kubernetes client that asked, and it listed once, then watched.
        Assert.All(_api.UserAgents, agent => Assert.StartsWith("kubernetes-csharp/", agent, StringComparison.Ordinal));
        Assert.Equal(1, _api.Lists);
    }

    [Fact]
    public async Task A_watch_resumes_from_its_resource_version_and_lists_again_after_410_gone()
    {
        _api.Apply("shop", "inventory", "inventory-abc", _port, new SliceEndpoint("127.0.0.2"));
        Consumer("k8s://shop/inventory:http"); // the slice's port named http
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        await discovery.GetEndpointsAsync("inventory");

        // The API server ends the watch (its time is up) and a change comes meanwhile: the watch resumes and gets it, no list.
        await Eventually.TrueAsync(() => _api.OpenWatches == 1, "the consumer watches");
        _api.HoldWatchEvents = true;
        _api.Apply("shop", "inventory", "inventory-abc", _port, new SliceEndpoint("127.0.0.2"), new SliceEndpoint("127.0.0.3"));
        _api.HoldWatchEvents = false;
        _api.EndWatches();
        await Eventually.TrueAsync(() => Ids(discovery).Count == 2, ".3 is seen by the resumed watch");
        Assert.Equal((1, 2), (_api.Lists, _api.WatchRequests));

        // A change the consumer's watch missed and the server no longer keeps: 410, then a list that has it.
        await Eventually.TrueAsync(() => _api.OpenWatches == 1, "the consumer watches again");
        _api.HoldWatchEvents = true;
        _api.Apply("shop", "inventory", "inventory-abc", _port, new SliceEndpoint("127.0.0.2"), new SliceEndpoint("127.0.0.4"));
        _api.ForgetHistory();
        _api.HoldWatchEvents = false;
        _api.EndWatches();
        await Eventually.TrueAsync(() => Ids(discovery).SequenceEqual([$"127.0.0.2:{_port}", $"127.0.0.4:{_port}"]), "the list after 410 has .4, not .3");
        Assert.Equal(2, _api.Lists);
        Assert.Contains(_consumer!.GetFakeLogCollector().GetSnapshot(), l => l.Id.Id == 3200);
    }

    [Fact]
    public async Task The_last_list_is_kept_while_the_api_server_is_away_and_is_current_again_when_it_returns()
    {
        _api.Apply("shop", "inventory", "inventory-abc", _port, new SliceEndpoint("127.0.0.2"), new SliceEndpoint("127.0.0.3"));
        var http = Consumer($"k8s://shop/inventory:{_port}");
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        await discovery.GetEndpointsAsync("inventory");

        await _api.StopAsync();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("inventory", out var l) && l.Source == EndpointSource.Cached, "the list is marked out of date");
        Assert.Equal(["127.0.0.2", "127.0.0.3"], await CalledAsync(http, 40));

        _api.Apply("shop", "inventory", "inventory-abc", _port, new SliceEndpoint("127.0.0.4"));
        await _api.StartAgainAsync();
        await Eventually.TrueAsync(
            () => Ids(discovery).SequenceEqual([$"127.0.0.4:{_port}"]) && discovery.TryGetEndpoints("inventory", out var l) && l.Source == EndpointSource.Live,
            "the list is current again", TimeSpan.FromSeconds(15));
        Assert.Equal(["127.0.0.4"], await CalledAsync(http, 10));
    }

    private HttpClient Consumer(string target)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddRoster(o => o.Servers.Add(new Uri($"http://127.0.0.1:{Processes.AppProcess.FreePort()}")))
            .AddDiscovery(o =>
            {
                o.Namespace = "prod";
                o.Sources["inventory"] = target;
                o.LoadBalancing.Policy = LoadBalancingPolicy.RoundRobin;
            })
            .AddKubernetesSources(new KubernetesSourceProvider
            {
                Configuration = () => new k8s.KubernetesClientConfiguration { Host = _api.Address.ToString() },
                MaxRetryDelay = TimeSpan.FromMilliseconds(500),
            });
        services.AddHttpClient("inventory", c => c.BaseAddress = new Uri("http://inventory")).AddRosterDiscovery();
        _consumer = services.BuildServiceProvider();
        return _consumer.GetRequiredService<IHttpClientFactory>().CreateClient("inventory");
    }

    /// <summary>The pods that answered <paramref name="calls"/> calls, in order of address.</summary>
    private static async Task<string[]> CalledAsync(HttpClient http, int calls)
    {
        var answers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < calls; i++)
        {
            answers.Add(await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        }

        return [.. answers.Order(StringComparer.Ordinal)];
    }

    private static List<string> Ids(RosterDiscovery discovery) =>
        discovery.TryGetEndpoints("inventory", out var list) ? [.. list.Endpoints.Select(e => e.Id)] : [];

    /// <summary>A Kestrel server on each address, all on one port (as pods behind a Service); returns the port.</summary>
    private async Task<int> StartPodsAsync(params string[] addresses)
    {
        var port = LoopbackPorts.Free(IPAddress.Parse(addresses[0]));
        foreach (var address in addresses)
        {
            _providers.Add(await TestProviders.StartUnregisteredAsync(address, $"http://{address}:{port}"));
        }

        return port;
    }
}
