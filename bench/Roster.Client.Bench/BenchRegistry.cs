using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Roster.Bench;

namespace Roster.Client.Bench;

/// <summary>
/// A <c>roster serve</c> process holding a few instances of "orders", and a consumer's discovery of them
/// through the SDK, wired as an application would wire it (<c>AddRoster(...).AddDiscovery(...)</c>).
/// </summary>
internal sealed class BenchRegistry : IAsyncDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "roster-client-bench-" + Guid.NewGuid().ToString("N"));
    private ServerProcess _server = null!;

    public ServiceProvider Consumer { get; private set; } = null!;

    public RosterDiscovery Discovery => Consumer.GetRequiredService<RosterDiscovery>();

    public RosterLoadBalancer Balancer => Consumer.GetRequiredService<RosterLoadBalancer>();

    public HttpClient Registry { get; private set; } = null!;

    /// <param name="instances">How many instances of "orders" to register.</param>
    /// <param name="policy">The consumer's load-balancing policy.</param>
    /// <param name="sources">Services the consumer finds elsewhere (etcd:// and k8s:// targets are read).</param>
    /// <param name="kubernetes">The API server k8s:// targets are read from.</param>
    public static async Task<BenchRegistry> StartAsync(
        int instances, LoadBalancingPolicy policy = LoadBalancingPolicy.PowerOfTwoChoices, IReadOnlyDictionary<string, string>? sources = null, Uri? kubernetes = null)
    {
        var bench = new BenchRegistry();
        (bench._server, _) = await ServerProcess.StartAsync(bench._dataDirectory);

        // Whatever happens to the benchmark run (a failed setup, a cleanup never called), the registry
        // process does not outlive this one.
        var pid = bench._server.Pid;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillIfRunning(pid);
        bench.Registry = new HttpClient { BaseAddress = bench._server.Address };
        for (var i = 0; i < instances; i++)
        {
            await bench.RegisterAsync($"orders-{i}", 9000 + i);
        }

        var services = new ServiceCollection();
        services.AddRoster(o => o.Servers.Add(bench._server.Address)).AddDiscovery(o =>
        {
            o.Namespace = "bench";
            o.LoadBalancing.Policy = policy;
            foreach (var (service, target) in sources ?? new Dictionary<string, string>())
            {
                o.Sources[service] = target;
            }
        }).AddEtcdSources().AddKubernetesSources(new Kubernetes.KubernetesSourceProvider
        {
            Configuration = () => new k8s.KubernetesClientConfiguration { Host = kubernetes?.ToString() ?? "http://127.0.0.1:1" },
        });
        bench.Consumer = services.BuildServiceProvider();
        var list = await bench.Discovery.GetEndpointsAsync("orders");
        if (list.Endpoints.Length != instances)
        {
            throw new InvalidOperationException($"Expected {instances} instances, got {list.Endpoints.Length}.");
        }

        return bench;
    }

    public async Task RegisterAsync(string id, int port)
    {
        using var response = await Registry.PutAsJsonAsync(
            new Uri($"/api/v1/namespaces/bench/services/orders/instances/{id}", UriKind.Relative),
            new { address = "127.0.0.1", port, ttlSeconds = 300 });
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Consumer.DisposeAsync();
            Registry.Dispose();
        }
        finally
        {
            await _server.DisposeAsync();
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private static void KillIfRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }
}
