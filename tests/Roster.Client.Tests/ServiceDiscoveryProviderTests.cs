using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ServiceDiscovery;
using Roster.Client.ServiceDiscovery;

namespace Roster.Client.Tests;

/// <summary>
/// An app that uses only Microsoft.Extensions.ServiceDiscovery with Roster's provider, against a real registry
/// node and real Kestrel providers on loopback: calls by name, pushed changes with no polling configured (the
/// library's own refresh period is 60 s), drains, an outage of the registry, configuration overrides, IP
/// literals, and Roster's own handler stacked on the same client.
/// </summary>
public sealed class ServiceDiscoveryProviderTests : IAsyncLifetime
{
    private RosterTestServer _registry = null!;
    private readonly List<WebApplication> _providers = [];
    private ServiceProvider? _consumer;

    public async Task InitializeAsync() => _registry = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        if (_consumer is not null)
        {
            await _consumer.DisposeAsync();
        }

        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task Calls_by_name_follow_new_and_drained_providers_within_a_second_and_survive_a_registry_outage()
    {
        await StartProviderAsync("orders-0");
        await WaitUntilListedAsync(1);
        var http = Consumer();
        Assert.Equal("orders-0", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));

        // A provider registered afterwards takes traffic within 1 s of being listed, with no polling configured.
        await StartProviderAsync("orders-1");
        await WaitUntilListedAsync(2);
        var listed = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)) == "orders-1",
            "orders-1 takes a request", TimeSpan.FromSeconds(1));
        Assert.InRange(listed.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));

        // A drained provider stops taking new requests within 1 s.
        using (var drain = await _registry.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/orders-0", UriKind.Relative),
            RosterTestServer.Json(new { drained = true })))
        {
            drain.EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(async () => await TenCallsAnsweredOnlyByAsync(http, "orders-1"), "ten calls in a row reach only orders-1", TimeSpan.FromSeconds(1));

        // With the registry stopped, calls keep succeeding from the last list.
        await _registry.StopAsync();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("orders-1", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        }
    }

    [Fact]
    public async Task A_configured_services_section_overrides_the_registry()
    {
        await StartProviderAsync("orders-0");
        var pinned = await StartProviderAsync("orders-1");
        var http = Consumer(new Dictionary<string, string?> { ["Services:orders:http:0"] = Address(pinned).ToString() });
        await WaitUntilListedAsync(2);

        Assert.True(await TenCallsAnsweredOnlyByAsync(http, "orders-1"));
    }

    [Fact]
    public async Task A_static_source_configured_for_roster_serves_calls_through_service_discovery()
    {
        var payments = await TestProviders.StartUnregisteredAsync("payments-static");
        _providers.Add(payments);

        var services = ConsumerServices(new Dictionary<string, string?> { ["Roster:Discovery:Sources:payments"] = "static://" + Address(payments).Authority });
        services.AddHttpClient("payments", c => c.BaseAddress = new Uri("http://payments")).AddServiceDiscovery();
        _consumer = services.BuildServiceProvider();

        var http = _consumer.GetRequiredService<IHttpClientFactory>().CreateClient("payments");
        Assert.Equal("payments-static", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        var endpoints = await _consumer.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync("http://payments", CancellationToken.None);
        Assert.Equal(Address(payments).Authority, Assert.Single(endpoints.Endpoints).Features.Get<InstanceEndpoint>()!.Id);
    }

    [Fact]
    public async Task An_etcd_source_configured_for_roster_serves_calls_through_service_discovery()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var users = await TestProviders.StartUnregisteredAsync("users-etcd");
        _providers.Add(users);
        var lease = await etcd.GrantLeaseAsync(60);
        await etcd.PutAsync($"user.rpc/{lease}", Address(users).Authority, lease);

        var services = ConsumerServices(new Dictionary<string, string?> { ["Roster:Discovery:Sources:users"] = $"etcd://{etcd.Member}/user.rpc" });
        services.AddRosterEtcdSources();
        services.AddHttpClient("users", c => c.BaseAddress = new Uri("http://users")).AddServiceDiscovery();
        _consumer = services.BuildServiceProvider();

        var http = _consumer.GetRequiredService<IHttpClientFactory>().CreateClient("users");
        Assert.Equal("users-etcd", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        var endpoints = await _consumer.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync("http://users", CancellationToken.None);
        Assert.Equal(Address(users).Authority, Assert.Single(endpoints.Endpoints).Features.Get<InstanceEndpoint>()!.Id);
    }

    [Fact]
    public async Task IP_literals_pass_through_and_roster_own_handler_stacks_without_resolving_twice()
    {
        var provider = await StartProviderAsync("orders-0");
        await WaitUntilListedAsync(1);
        var services = ConsumerServices(null);
        services.AddHttpClient("direct", c => c.BaseAddress = Address(provider)).AddServiceDiscovery().AddRosterDiscovery();
        services.AddHttpClient("stacked", c => c.BaseAddress = new Uri("http://orders")).AddServiceDiscovery().AddRosterDiscovery();
        _consumer = services.BuildServiceProvider();
        var clients = _consumer.GetRequiredService<IHttpClientFactory>();

        Assert.Equal("orders-0", await clients.CreateClient("direct").GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        Assert.Equal("orders-0", await clients.CreateClient("stacked").GetStringAsync(new Uri("/whoami", UriKind.Relative)));
    }

    [Fact]
    public async Task The_provider_declines_names_roster_cannot_hold_and_resolves_the_preferred_scheme()
    {
        await StartProviderAsync("orders-0");
        await WaitUntilListedAsync(1);
        _consumer = ConsumerServices(null).BuildServiceProvider();
        var resolver = _consumer.GetRequiredService<ServiceEndpointResolver>();

        var endpoints = await resolver.GetEndpointsAsync("https+http://orders", CancellationToken.None);
        var only = Assert.Single(endpoints.Endpoints);
        Assert.Equal("http", ((UriEndPoint)only.EndPoint).Uri.Scheme);
        Assert.Equal("orders-0", only.Features.Get<InstanceEndpoint>()!.Id);

        // Only https asked for, and no instance offers it: no endpoint from Roster (only the library's pass-through).
        Assert.DoesNotContain((await resolver.GetEndpointsAsync("https://orders", CancellationToken.None)).Endpoints, e => e.EndPoint is UriEndPoint);

        Assert.False(RosterServiceEndpointProviderFactory.IsRosterService("127.0.0.1"));
        Assert.False(RosterServiceEndpointProviderFactory.IsRosterService("localhost"));
        Assert.False(RosterServiceEndpointProviderFactory.IsRosterService("Orders_Service"));
        Assert.True(RosterServiceEndpointProviderFactory.IsRosterService("orders.v2"));
    }

    [Fact]
    public void Only_instances_that_take_requests_are_handed_out_in_the_first_scheme_offered()
    {
        InstanceEndpoint[] listed =
        [
            new("a", "10.0.0.1", 80),
            new("b", "10.0.0.2", 80) { Drained = true },
            new("c", "10.0.0.3", 80) { Weight = 0 },
            new("d", "10.0.0.4", 443) { Scheme = "https" },
        ];

        Assert.Equal(["a", "d"], RosterServiceEndpointProvider.TakingRequests([.. listed], []).Select(e => e.Id));
        Assert.Equal(["d"], RosterServiceEndpointProvider.TakingRequests([.. listed], ["https", "http"]).Select(e => e.Id));
        Assert.Equal(["a"], RosterServiceEndpointProvider.TakingRequests([.. listed], ["http"]).Select(e => e.Id));
        Assert.Empty(RosterServiceEndpointProvider.TakingRequests([listed[1], listed[2]], ["http"]));
    }

    private static async Task<bool> TenCallsAnsweredOnlyByAsync(HttpClient http, string id)
    {
        for (var i = 0; i < 10; i++)
        {
            if (await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)) != id)
            {
                return false;
            }
        }

        return true;
    }

    private async Task WaitUntilListedAsync(int count) =>
        await Eventually.TrueAsync(async () => (await _registry.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances").GetArrayLength() == count,
            $"{count} instances are listed");

    private async Task<WebApplication> StartProviderAsync(string id)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRoster(o => o.Servers.Add(_registry.Address))
            .AddRegistration(o =>
            {
                o.Namespace = "prod";
                o.Service = "orders";
                o.InstanceId = id;
                o.Agent.DrainPeriod = TimeSpan.FromMilliseconds(200); // teardown, not under test here
            })
            .AddServerAddresses();
        var app = builder.Build();
        app.MapGet("/whoami", () => id);
        await app.StartAsync();
        _providers.Add(app);
        return app;
    }

    /// <summary>The consumer: Microsoft.Extensions.ServiceDiscovery with Roster's provider, configured as an app would be.</summary>
    private HttpClient Consumer(Dictionary<string, string?>? settings = null)
    {
        var services = ConsumerServices(settings);
        services.AddHttpClient("orders", c => c.BaseAddress = new Uri("http://orders")).AddServiceDiscovery();
        _consumer = services.BuildServiceProvider();
        return _consumer.GetRequiredService<IHttpClientFactory>().CreateClient("orders");
    }

    private ServiceCollection ConsumerServices(Dictionary<string, string?>? settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Roster:Servers:0"] = _registry.Address.ToString(),
                ["Roster:Discovery:Namespace"] = "prod",
            })
            .AddInMemoryCollection(settings ?? [])
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddServiceDiscovery().AddRosterServiceEndpointProvider(configuration.GetSection("Roster"));
        return services;
    }

    private static Uri Address(WebApplication app) => TestProviders.AddressOf(app);
}
