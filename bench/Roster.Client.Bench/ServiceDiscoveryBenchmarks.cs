using System.Net;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Roster.Client.Bench;

/// <summary>
/// What Roster's provider for Microsoft.Extensions.ServiceDiscovery adds to a request: the same request through
/// the library's handler (<c>AddServiceDiscovery()</c> on the client), once to an IP literal (the library's
/// pass-through provider resolves it) and once by service name (Roster's provider resolves it). The last
/// handler answers at once. Target (issue 12): by name no more than pass-through + 200 ns.
/// </summary>
public class ServiceDiscoveryBenchmarks
{
    private static readonly Uri Literal = new("http://127.0.0.1:9000/orders/42?expand=lines");
    private static readonly Uri ByName = new("http://orders/orders/42?expand=lines");
    private BenchRegistry _registry = null!;
    private ServiceProvider _services = null!;
    private HttpMessageInvoker _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = Task.Run(() => BenchRegistry.StartAsync(instances: 3)).GetAwaiter().GetResult();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build()); // as a host has; the library's configuration provider reads it
        services.AddRoster(o => o.Servers.Add(_registry.Registry.BaseAddress!)).AddDiscovery(o => o.Namespace = "bench");
        services.AddServiceDiscovery().AddRosterServiceEndpointProvider();
        services.AddHttpClient("bench").AddServiceDiscovery().ConfigurePrimaryHttpMessageHandler(() => new AnswerAtOnce());
        _services = services.BuildServiceProvider();
        _client = new HttpMessageInvoker(_services.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler("bench"), disposeHandler: false);

        // Both names resolved once, so the benchmark measures the steady state.
        ByServiceName().GetAwaiter().GetResult().Dispose();
        ToIpLiteral().GetAwaiter().GetResult().Dispose();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _services.Dispose();
        Task.Run(() => _registry.DisposeAsync().AsTask()).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "IP literal, the library's pass-through provider")]
    public Task<HttpResponseMessage> ToIpLiteral() => _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, Literal), CancellationToken.None);

    [Benchmark(Description = "service name, Roster's provider")]
    public Task<HttpResponseMessage> ByServiceName() => _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, ByName), CancellationToken.None);

    /// <summary>A provider that answers 200 at once, with one shared response: no network, no allocation.</summary>
    private sealed class AnswerAtOnce : HttpMessageHandler
    {
        private static readonly Task<HttpResponseMessage> Ok = Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Ok;
    }
}
