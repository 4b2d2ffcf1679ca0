using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Cluster.Tests;

/// <summary>
/// Prometheus discovers from one node of a three-node cluster while the registrations and the deregistration go to the
/// others: the targets it lists follow the cluster, not the node it asks.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class PrometheusClusterTests(BrokersFixture brokers) : IAsyncLifetime
{
    private ClusterProcesses _cluster = null!;

    public async Task InitializeAsync() => _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("prometheus"));

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Prometheus_asking_one_node_sees_instances_registered_and_deregistered_at_the_others()
    {
        var (writer, asked, remover) = (_cluster.Nodes[0], _cluster.Nodes[1], _cluster.Nodes[2]);
        foreach (var (id, port) in new[] { ("a1", 1), ("a2", 2) })
        {
            using var registered = await writer.Client.PutAsJsonAsync($"/api/v1/namespaces/prod/services/orders/instances/{id}", new { address = "127.0.0.1", port, ttlSeconds = 60 });
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        await using var prometheus = await PrometheusProcess.StartAsync($"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: roster
                http_sd_configs:
                  - url: {asked.Address}api/v1/prometheus/targets?namespace=prod
                    refresh_interval: 1s
            """);
        await Eventually.TrueAsync(async () => (await InstanceIdsAsync(prometheus)).SetEquals(["a1", "a2"]), "Prometheus lists both instances", TimeSpan.FromSeconds(30));

        using (var deregistered = await remover.Client.DeleteAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a2", UriKind.Relative)))
        {
            Assert.True(deregistered.IsSuccessStatusCode);
        }

        await Eventually.TrueAsync(async () => (await InstanceIdsAsync(prometheus)).SetEquals(["a1"]), "Prometheus drops the instance deregistered at another node", TimeSpan.FromSeconds(30));
    }

    private static async Task<HashSet<string>> InstanceIdsAsync(PrometheusProcess prometheus)
    {
        var answer = await prometheus.Client.GetFromJsonAsync<JsonElement>("/api/v1/targets?state=active");
        return answer.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => t.GetProperty("discoveredLabels").GetProperty("__meta_roster_instance_id").GetString()!)
            .ToHashSet();
    }
}
