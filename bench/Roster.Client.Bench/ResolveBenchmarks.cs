using BenchmarkDotNet.Attributes;

namespace Roster.Client.Bench;

/// <summary>
/// The consumer's hot path before a call: its service's list from the cache, and an endpoint chosen from
/// it. Target: no allocation, at least 10 million resolutions per second on one core (under 100 ns).
/// </summary>
public class ResolveBenchmarks
{
    private BenchRegistry _registry = null!;
    private RosterDiscovery _discovery = null!;
    private RosterLoadBalancer _balancer = null!;
    private ServiceEndpoints _list = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = Task.Run(() => BenchRegistry.StartAsync(instances: 3)).GetAwaiter().GetResult();
        _discovery = _registry.Discovery;
        _balancer = _registry.Balancer;
        _discovery.TryGetEndpoints("orders", out _list);
    }

    [GlobalCleanup]
    public void Cleanup() => Task.Run(() => _registry.DisposeAsync().AsTask()).GetAwaiter().GetResult();

    [Benchmark(Description = "TryGetEndpoints (cache hit)")]
    public bool TryGetEndpoints() => _discovery.TryGetEndpoints("orders", out _);

    [Benchmark(Description = "GetEndpointsAsync (cache hit, completes synchronously)")]
    public ServiceEndpoints GetEndpointsAsync()
    {
        var pending = _discovery.GetEndpointsAsync("orders");
        return pending.IsCompletedSuccessfully ? pending.Result : throw new InvalidOperationException("A known service must be answered synchronously.");
    }

    [Benchmark(Description = "TryPick + Complete (power of two choices)")]
    public string PickAndComplete()
    {
        _balancer.TryPick(_list, out var lease);
        lease.Complete(RequestOutcome.Success);
        return lease.Endpoint.Id;
    }
}
