using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Roster.Client;

namespace Roster.Cluster.Tests;

/// <summary>
/// The client SDK against a cluster: the registration agent and discovery each use the node listed first,
/// that node is SIGKILLed, and both fail over. The agent's instances never expire (another node takes their
/// leases), and discovery resumes its watch at another node from its last revision: no identity change, no
/// resync, a change made afterwards still arrives.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class SdkFailoverTests(BrokersFixture brokers) : IAsyncLifetime
{

    private ClusterProcesses _cluster = null!;

    private List<RosterProcess> Nodes => _cluster.Nodes;

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("sdk-failover"), settings: "--Roster:Node:DefaultTtl=00:00:04");
    }

    [Fact]
    public async Task The_agent_and_discovery_fail_over_to_otherNodes_without_losing_an_instance_or_resyncing()
    {
        using var agentClient = new RosterClient(Options(2, 0, 1));
        var instances = Enumerable.Range(0, 50).Select(i => new InstanceRegistration("default", "orders", $"i{i}", "10.0.0.1", 8000 + i) { TtlSeconds = 4 });
        await using var agent = new RegistrationAgent(agentClient, instances);
        agent.Start();
        await Eventually.TrueAsync(() => agent.Registered.All(r => r is not null), "the agent registered every instance", TimeSpan.FromSeconds(20));

        var log = new RecordingLogger();
        using var discoveryClient = new RosterClient(Options(2, 1));
        await using var discovery = new RosterDiscovery(discoveryClient, new RosterDiscoveryOptions { Namespace = "default" }, logger: log);
        Assert.Equal(50, (await discovery.GetEndpointsAsync("orders")).Endpoints.Length);

        await Nodes[2].KillAsync();

        // A change made at another node after the kill reaches discovery through its resumed watch.
        using (var late = await Nodes[1].Client.PutAsync(
            new Uri("/api/v1/namespaces/default/services/orders/instances/after-kill", UriKind.Relative),
            JsonContent.Create(new { address = "10.0.0.2", port = 9000, persistent = true })))
        {
            late.EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(
            () => discovery.TryGetEndpoints("orders", out var endpoints) && endpoints.Endpoints.Length == 51,
            "discovery sees the change made after the kill",
            TimeSpan.FromSeconds(20));

        // Three TTLs later the agent's instances are all there: their leases moved with the agent.
        await Task.Delay(TimeSpan.FromSeconds(12));
        var snapshot = await Nodes[0].Client.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/namespaces/default/services/orders", UriKind.Relative));
        Assert.Equal(51, snapshot.GetProperty("instances").GetArrayLength());
        Assert.True(discovery.TryGetEndpoints("orders", out var final));
        Assert.Equal(51, final.Endpoints.Length);

        Assert.DoesNotContain(log.Lines, l => l.Contains("changed identity", StringComparison.Ordinal)
            || l.Contains("missed changes", StringComparison.Ordinal)
            || l.Contains("differs from the registry", StringComparison.Ordinal)
            || l.Contains("unconfirmed empty list", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("lost", StringComparison.Ordinal));
    }

    private RosterClientOptions Options(params int[] order)
    {
        var options = new RosterClientOptions { AttemptTimeout = TimeSpan.FromSeconds(2) };
        foreach (var index in order)
        {
            options.Servers.Add(Nodes[index].Address);
        }

        return options;
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
    }

    /// <summary>Keeps every formatted log line.</summary>
    private sealed class RecordingLogger : ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}
