using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Roster.Client.Tests;

/// <summary>
/// Providers and a consumer in this process, each a real Kestrel server or HttpClient on loopback, with
/// a real registry node: registration from the server's own address, calls by service name, rejections
/// while draining, refused connections, and providers restarted one by one under load.
/// </summary>
public sealed class HttpIntegrationTests : IAsyncLifetime
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
    public async Task Calls_by_service_name_reach_every_provider_registered_from_its_own_address()
    {
        for (var i = 0; i < 3; i++)
        {
            await StartProviderAsync($"orders-{i}");
        }

        var http = Consumer();
        await WaitForInstancesAsync(3);

        var answers = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            answers.Add(await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        }

        Assert.Equal(["orders-0", "orders-1", "orders-2"], answers.Distinct().Order());
    }

    [Fact]
    public async Task A_request_for_a_service_the_provider_does_not_host_is_declined_and_goes_elsewhere()
    {
        var provider = await StartProviderAsync("orders-0");
        using var direct = new HttpClient { BaseAddress = Address(provider) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(RosterHttp.ServiceHeader, "payments");

        using var response = await direct.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(RosterHttp.NotHosted, response.Headers.GetValues(RosterHttp.RejectionHeader).Single());
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task An_endpoint_that_refuses_connections_costs_no_request_and_is_ejected()
    {
        await StartProviderAsync("orders-0");
        await StartProviderAsync("orders-1");

        // A registration left behind by a process that is gone: its port refuses connections.
        using var client = new RosterClient(RegistryOptions());
        await client.RegisterAsync(new InstanceRegistration("prod", "orders", "orders-dead", "127.0.0.1", Processes.AppProcess.FreePort()) { TtlSeconds = 300 });
        var http = Consumer();
        await WaitForInstancesAsync(3);

        for (var i = 0; i < 100; i++)
        {
            Assert.StartsWith("orders-", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)), StringComparison.Ordinal);
        }

        var balancer = _consumer!.GetRequiredService<RosterLoadBalancer>();
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        Assert.True(discovery.TryGetEndpoints("orders", out var endpoints));
        Assert.DoesNotContain("orders-dead", Enumerable.Range(0, 50).Select(_ =>
        {
            Assert.True(balancer.TryPick(endpoints, out var lease));
            lease.Complete(RequestOutcome.Success);
            return lease.Endpoint.Id;
        }));
    }

    [Fact]
    public async Task A_static_source_is_called_by_name_its_dead_address_ejected_and_readmitted_once_it_answers()
    {
        var a = await StartUnregisteredAsync("static-a");
        var b = await StartUnregisteredAsync("static-b");
        var deadPort = Processes.AppProcess.FreePort();
        var http = Consumer(o =>
        {
            o.Sources["orders"] = $"static://{Address(a).Authority}, {Address(b).Authority},127.0.0.1:{deadPort}";
            o.LoadBalancing.BaseEjectionTime = TimeSpan.FromSeconds(1);
        });

        // Known at once, from configuration, before any call: the registry (which has no "orders") is not asked.
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        Assert.True(discovery.TryGetEndpoints("orders", out var endpoints));
        Assert.Equal(EndpointSource.Static, endpoints.Source);
        Assert.Equal(TimeSpan.Zero, endpoints.AgeAt(DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Equal(3, endpoints.Endpoints.Length);

        // The dead address costs no request: the call goes to another, and the address is ejected.
        for (var i = 0; i < 60; i++)
        {
            Assert.StartsWith("static-", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)), StringComparison.Ordinal);
        }

        var balancer = _consumer!.GetRequiredService<RosterLoadBalancer>();
        Assert.DoesNotContain($"127.0.0.1:{deadPort}", Enumerable.Range(0, 20).Select(_ =>
        {
            Assert.True(balancer.TryPick(endpoints, out var lease));
            lease.Complete(RequestOutcome.Success);
            return lease.Endpoint.Id;
        }));

        // Once something answers there, the address is tried again after its ejection and taken back.
        await StartUnregisteredAsync("static-c", deadPort);
        await Eventually.TrueAsync(
            async () => await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)) == "static-c",
            "the re-admitted address answers", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Restarting_providers_one_by_one_under_load_fails_no_request()
    {
        for (var i = 0; i < 3; i++)
        {
            await StartProviderAsync($"orders-{i}");
        }

        var http = Consumer();
        await WaitForInstancesAsync(3);
        using var stop = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var sent = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.PostAsync(new Uri("/orders", UriKind.Relative), new StringContent("{}"));
                    if (!response.IsSuccessStatusCode)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} {response.Headers.GetValues(RosterHttp.RejectionHeader).FirstOrDefault()}");
                    }
                }
#pragma warning disable CA1031 // Every failure is what this test counts.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    failures.Enqueue(e.ToString());
                }

                Interlocked.Increment(ref sent);
            }
        });

        for (var i = 0; i < 3; i++)
        {
            var old = _providers[i];
            await old.StopAsync();
            await old.DisposeAsync();
            _providers[i] = await StartProviderAsync($"orders-{i}", track: false);
        }

        await Eventually.TrueAsync(() => Volatile.Read(ref sent) >= 2_000, "at least 2,000 requests were sent", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await load;

        // Known and open: on a loaded machine, at most one POST in a run has met a provider's connection closing
        // as the provider left ("The response ended prematurely"), which the handler does not retry for a
        // non-idempotent request. Anything else, or more than one, fails the test.
        var failed = failures.ToList();
        var raced = failed.Count(f => f.Contains("(ResponseEnded)", StringComparison.Ordinal));
        Assert.True(failed.Count == raced && raced <= 1, $"{failed.Count} of {sent} requests failed:\n" + string.Join('\n', failed.Take(3)));
    }

    private async Task<WebApplication> StartProviderAsync(string id, bool track = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRoster(o => Fill(o))
            .AddRegistration(o =>
            {
                o.Namespace = "prod";
                o.Service = "orders";
                o.InstanceId = id;
                // Shorter than the default (5 s) to keep the test short, but with room: 500 ms, then 1.5 s,
                // were shorter than the drain's way to the consumer when the other test assemblies loaded both
                // cores of a slow moment of this VM, and a request still reached a provider that was closing
                // its connections (seen twice in ten full runs at 500 ms, once in a clean full run at 1.5 s).
                o.Agent.DrainPeriod = TimeSpan.FromSeconds(3);
            })
            .AddServerAddresses();
        var app = builder.Build();
        app.UseRosterRejection();
        app.MapGet("/whoami", () => id);
        app.MapPost("/orders", async (HttpRequest request) =>
        {
            await Task.Delay(2);
            return Results.Ok(id);
        });
        await app.StartAsync();
        if (track)
        {
            _providers.Add(app);
        }

        return app;
    }

    /// <summary>A provider that does not register: a plain Kestrel server answering <c>/whoami</c>.</summary>
    private async Task<WebApplication> StartUnregisteredAsync(string id, int port = 0)
    {
        var app = await TestProviders.StartUnregisteredAsync(id, $"http://127.0.0.1:{port}");
        _providers.Add(app);
        return app;
    }

    private HttpClient Consumer(Action<RosterDiscoveryOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRoster(o => Fill(o)).AddDiscovery(o =>
        {
            o.Namespace = "prod";
            o.LoadBalancing.Policy = LoadBalancingPolicy.RoundRobin;
            configure?.Invoke(o);
        });
        services.AddHttpClient("orders", c => c.BaseAddress = new Uri("http://orders")).AddRosterDiscovery();
        _consumer = services.BuildServiceProvider();
        return _consumer.GetRequiredService<IHttpClientFactory>().CreateClient("orders");
    }

    private async Task WaitForInstancesAsync(int count)
    {
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        await discovery.GetEndpointsAsync("orders");
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Endpoints.Length == count, $"{count} instances are listed");
    }

    private RosterClientOptions RegistryOptions() => Fill(new RosterClientOptions());

    private RosterClientOptions Fill(RosterClientOptions options)
    {
        options.Servers.Add(_registry.Address);
        return options;
    }

    private static Uri Address(WebApplication app) => TestProviders.AddressOf(app);
}
