using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roster.Client.Diagnostics;

namespace Roster.Client.Tests;

/// <summary>
/// The SDK's instruments and spans, each made to move against a real registry node and real Kestrel
/// providers on loopback. Instruments are process-wide, so each test names services of its own and looks
/// only at its own measurements.
/// </summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private RosterTestServer _registry = null!;
    private readonly List<WebApplication> _providers = [];
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync() => _registry = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task Requests_rejections_and_retries_are_counted_and_each_attempt_is_a_span_of_the_callers_trace()
    {
        const string Service = "telemetry-declines";
        await RegisterAsync(Service, "declining", await StartProviderAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers[RosterHttp.RejectionHeader] = RosterHttp.Overloaded;
            return Task.CompletedTask;
        }));
        await RegisterAsync(Service, "answering", await StartProviderAsync(context => context.Response.WriteAsync("ok")));
        using var requests = new MetricCollector<long>(RosterClientTelemetry.Requests);
        using var rejections = new MetricCollector<long>(RosterClientTelemetry.Rejections);
        using var retries = new MetricCollector<long>(RosterClientTelemetry.Retries);
        var attempts = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RosterClientTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (attempts) { attempts.Add(activity); } },
        };
        ActivitySource.AddActivityListener(listener);
        var http = await ConsumerAsync(Service);

        using (var caller = new Activity("caller").Start())
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal("ok", await http.GetStringAsync(new Uri("/", UriKind.Relative)));
            }

            var ours = Ours(requests, Service);
            Assert.Equal(10, ours.Where(m => Equals(m.Tags["roster.outcome"], "answered")).Sum(m => m.Value));
            var declined = Ours(rejections, Service).Where(m => Equals(m.Tags["roster.rejection"], RosterHttp.Overloaded)).Sum(m => m.Value);
            Assert.True(declined >= 1, "the declining provider was tried at least once");
            Assert.Equal(declined, Ours(retries, Service).Where(m => Equals(m.Tags["roster.reason"], "declined")).Sum(m => m.Value));

            List<Activity> spans;
            lock (attempts)
            {
                spans = [.. attempts.Where(a => Equals(a.GetTagItem("roster.service"), Service))];
            }

            Assert.All(spans, span => Assert.Equal(caller.TraceId, span.TraceId));
            Assert.Contains(spans, span => Equals(span.GetTagItem("roster.attempt"), 2) && Equals(span.GetTagItem("roster.endpoint"), "answering"));
            Assert.Contains(spans, span => Equals(span.GetTagItem("roster.outcome"), "declined") && Equals(span.GetTagItem("roster.endpoint"), "declining"));
        }
    }

    [Fact]
    public async Task An_endpoint_that_refuses_connections_is_counted_as_ejected()
    {
        const string Service = "telemetry-ejections";
        await RegisterAsync(Service, "answering", await StartProviderAsync(context => context.Response.WriteAsync("ok")));
        await RegisterAsync(Service, "gone", new Uri($"http://127.0.0.1:{Processes.AppProcess.FreePort()}"));
        using var ejections = new MetricCollector<long>(RosterClientTelemetry.Ejections);
        using var retries = new MetricCollector<long>(RosterClientTelemetry.Retries);
        var http = await ConsumerAsync(Service);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal("ok", await http.GetStringAsync(new Uri("/", UriKind.Relative)));
        }

        Assert.Equal(1, Ours(ejections, Service).Sum(m => m.Value));
        Assert.Contains(Ours(retries, Service), m => Equals(m.Tags["roster.reason"], "connection_error"));
    }

    [Fact]
    public async Task Renewals_and_a_registration_made_again_after_the_registry_dropped_it_are_counted()
    {
        using var renewals = new MetricCollector<long>(RosterClientTelemetry.Renewals);
        using var reregistrations = new MetricCollector<long>(RosterClientTelemetry.Reregistrations);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRoster(o => o.Servers.Add(_registry.Address)).AddRegistration(o =>
        {
            o.Namespace = "telemetry";
            o.Service = "telemetry-renewals";
            o.InstanceId = "renewing";
            o.Address = "10.0.0.9";
            o.Port = 8080;
            o.TtlSeconds = 3;
            o.Agent.DrainPeriod = TimeSpan.Zero;
        });
        var host = builder.Build();
        _owned.Add(new HostStopper(host));
        await host.StartAsync();
        await Eventually.TrueAsync(() => renewals.GetMeasurementSnapshot().Any(m => Equals(m.Tags["roster.outcome"], "ok")), "a renewal succeeded", TimeSpan.FromSeconds(10));

        // The registry forgets the instance (an operator's deregistration): the next renewal finds it gone.
        using (var deregistered = await _registry.Client.DeleteAsync(new Uri("/api/v1/namespaces/telemetry/services/telemetry-renewals/instances/renewing", UriKind.Relative)))
        {
            deregistered.EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(async () => (await _registry.GetJsonAsync("/api/v1/namespaces/telemetry/services/telemetry-renewals")).GetProperty("instances").GetArrayLength() == 1,
            "the agent registered the instance again", TimeSpan.FromSeconds(10));
        Assert.Contains(renewals.GetMeasurementSnapshot(), m => Equals(m.Tags["roster.outcome"], "lost"));
        Assert.NotEmpty(reregistrations.GetMeasurementSnapshot());
    }

    private static IEnumerable<CollectedMeasurement<long>> Ours(MetricCollector<long> collector, string service) =>
        collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags["roster.service"], service));

    private async Task<HttpClient> ConsumerAsync(string service)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRoster(o => o.Servers.Add(_registry.Address)).AddDiscovery(o =>
        {
            o.Namespace = "telemetry";
            o.LoadBalancing.Policy = LoadBalancingPolicy.RoundRobin;
        });
        services.AddHttpClient(service, c => c.BaseAddress = new Uri($"http://{service}")).AddRosterDiscovery();
        var provider = services.BuildServiceProvider();
        _owned.Add(provider);
        await provider.GetRequiredService<RosterDiscovery>().GetEndpointsAsync(service);
        return provider.GetRequiredService<IHttpClientFactory>().CreateClient(service);
    }

    private async Task RegisterAsync(string service, string id, Uri address)
    {
        using var response = await _registry.RegisterAsync("telemetry", service, id, new { address = address.Host, port = address.Port, persistent = true });
        response.EnsureSuccessStatusCode();
    }

    private async Task<Uri> StartProviderAsync(RequestDelegate answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.Run(answer);
        await app.StartAsync();
        _providers.Add(app);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    private sealed class HostStopper(IHost host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
