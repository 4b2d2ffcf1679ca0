using System.Net;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Roster.Client.Discovery;
using Roster.Client.Http;

namespace Roster.Client.Bench;

/// <summary>
/// What the SDK's handler adds to one HTTP call: the same request sent through an invoker whose last
/// handler answers at once, directly to an address (the baseline) and by service name through
/// <c>RosterDiscoveryHandler</c> (resolve, choose, rewrite the address, record the outcome, restore).
/// Target: under 2 µs and no more than 2 allocations more than the baseline.
/// </summary>
public class HandlerBenchmarks
{
    private static readonly Uri Direct = new("http://127.0.0.1:9000/orders/42?expand=lines");
    private static readonly Uri ByName = new("http://orders/orders/42?expand=lines");
    private BenchRegistry _registry = null!;
    private HttpMessageInvoker _direct = null!;
    private HttpMessageInvoker _roster = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = Task.Run(() => BenchRegistry.StartAsync(instances: 3)).GetAwaiter().GetResult();
        _direct = new HttpMessageInvoker(new AnswerAtOnce());
        _roster = new HttpMessageInvoker(new RosterDiscoveryHandler(
            _registry.Discovery, _registry.Balancer, _registry.Consumer.GetRequiredService<DiscoverySettings>(), logger: null)
        {
            InnerHandler = new AnswerAtOnce(),
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _direct.Dispose();
        _roster.Dispose();
        Task.Run(() => _registry.DisposeAsync().AsTask()).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "to an address, no SDK")]
    public Task<HttpResponseMessage> ToAddress() => _direct.SendAsync(new HttpRequestMessage(HttpMethod.Get, Direct), CancellationToken.None);

    [Benchmark(Description = "by service name, through RosterDiscoveryHandler")]
    public Task<HttpResponseMessage> ByServiceName() => _roster.SendAsync(new HttpRequestMessage(HttpMethod.Get, ByName), CancellationToken.None);

    /// <summary>A provider that answers 200 at once, with one shared response: no network, no allocation.</summary>
    private sealed class AnswerAtOnce : HttpMessageHandler
    {
        private static readonly Task<HttpResponseMessage> Ok = Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Ok;
    }
}
