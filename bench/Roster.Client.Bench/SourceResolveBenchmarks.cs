using BenchmarkDotNet.Attributes;
using Roster.Testing;

namespace Roster.Client.Bench;

/// <summary>
/// The same hot path as <see cref="ResolveBenchmarks"/> for a service of each origin: the registry's, a static list,
/// an etcd source (Debian's etcd, three instances registered as go-zero does), a Kubernetes source (three ready endpoints
/// in an EndpointSlice, served by the tests' list/watch server). Target: the same cost whatever the origin, since every
/// list is read from the same cache.
/// </summary>
public class SourceResolveBenchmarks
{
    private EtcdProcess _etcd = null!;
    private EndpointSliceApiServer _kubernetes = null!;
    private BenchRegistry _registry = null!;
    private RosterDiscovery _discovery = null!;
    private RosterLoadBalancer _balancer = null!;
    private ServiceEndpoints _list = null!;
    private string _service = "";

    [Params("registry", "static", "etcd", "k8s")]
    public string Origin { get; set; } = "registry";

    [GlobalSetup]
    public void Setup() => Task.Run(SetupAsync).GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => Task.Run(async () =>
    {
        await _registry.DisposeAsync();
        await _etcd.DisposeAsync();
        await _kubernetes.DisposeAsync();
    }).GetAwaiter().GetResult();

    [Benchmark(Description = "TryGetEndpoints (cache hit)")]
    public bool TryGetEndpoints() => _discovery.TryGetEndpoints(_service, out _);

    [Benchmark(Description = "TryPick + Complete (power of two choices)")]
    public string PickAndComplete()
    {
        _balancer.TryPick(_list, out var lease);
        lease.Complete(RequestOutcome.Success);
        return lease.Endpoint.Id;
    }

    private async Task SetupAsync()
    {
        _etcd = await EtcdProcess.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            var lease = await _etcd.GrantLeaseAsync(600);
            await _etcd.PutAsync($"users.rpc/{lease}", $"127.0.0.1:{9100 + i}", lease);
        }

        _kubernetes = await EndpointSliceApiServer.StartAsync();
        _kubernetes.Apply("shop", "inventory", "inventory-1", 9300,
            new SliceEndpoint("127.0.0.2"), new SliceEndpoint("127.0.0.3"), new SliceEndpoint("127.0.0.4"));
        _registry = await BenchRegistry.StartAsync(instances: 3, sources: new Dictionary<string, string>
        {
            ["payments"] = "static://127.0.0.1:9200,127.0.0.1:9201,127.0.0.1:9202",
            ["users"] = $"etcd://{_etcd.Member}/users.rpc",
            ["inventory"] = "k8s://shop/inventory:9300",
        }, kubernetes: _kubernetes.Address);
        _discovery = _registry.Discovery;
        _balancer = _registry.Balancer;
        _service = Origin switch { "static" => "payments", "etcd" => "users", "k8s" => "inventory", _ => "orders" };
        _list = await _discovery.GetEndpointsAsync(_service);
        if (_list.Endpoints.Length != 3 || _list.Origin != Origin)
        {
            throw new InvalidOperationException($"Expected 3 endpoints from {Origin}, got {_list.Endpoints.Length} from {_list.Origin}.");
        }
    }
}
