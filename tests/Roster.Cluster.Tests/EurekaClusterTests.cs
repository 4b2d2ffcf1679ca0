using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Cluster.Tests;

/// <summary>
/// The npm <c>eureka-js-client</c> talks to one node of a three-node cluster while Roster's native writes go to another:
/// its registration shows on every node, its deltas bring the other node's registration and drain, its lapsed lease is
/// expired on every node, its heartbeat then registers it again, and stopping it cancels it everywhere.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class EurekaClusterTests(BrokersFixture brokers) : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);
    private ClusterProcesses _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("eureka"), 3, "--Roster:Eureka:Namespace=prod", "--Roster:Node:ExpiryScanInterval=00:00:00.100");

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Eureka_js_client_on_one_node_sees_writes_made_at_another()
    {
        var (asked, writer) = (_cluster.Nodes[1], _cluster.Nodes[0]);
        await using var client = NodeScript.Start("eureka-scenario.js", "127.0.0.1", asked.Address.Port.ToString(CultureInfo.InvariantCulture));
        await client.NextAsync("started", Within);
        await AllNodesAsync(HttpStatusCode.OK, "every node has the Eureka registration");

        using (var registered = await writer.Client.PutAsJsonAsync("/api/v1/namespaces/prod/services/orders/instances/orders-2", new { address = "10.3.0.2", port = 8081, ttlSeconds = 60 }))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        Assert.Equal(["orders-1:UP", "orders-2:UP"], await NextCacheAsync(client, c => c.Count == 2));
        using (var drained = await writer.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/orders-2", UriKind.Relative), JsonContent.Create(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
        }

        Assert.Equal(["orders-1:UP", "orders-2:OUT_OF_SERVICE"], await NextCacheAsync(client, c => c.Contains("orders-2:OUT_OF_SERVICE")));

        // Frozen past its lease: expired on every node; its next heartbeat registers it again, on every node.
        await client.SendAsync("pause");
        await NextCacheAsync(client, c => !c.Contains("orders-1:UP"));
        await AllNodesAsync(HttpStatusCode.NotFound, "every node expired the lapsed instance");
        await client.SendAsync("resume");
        await client.NextAsync("registered", Within);
        await AllNodesAsync(HttpStatusCode.OK, "every node has the registration again");

        await client.SendAsync("stop");
        Assert.Equal(JsonValueKind.Null, (await client.NextAsync("stopped", Within)).GetProperty("error").ValueKind);
        await AllNodesAsync(HttpStatusCode.NotFound, "every node removed the cancelled instance");
    }

    private async Task AllNodesAsync(HttpStatusCode status, string what)
    {
        foreach (var node in _cluster.Nodes)
        {
            await Eventually.TrueAsync(
                async () =>
                {
                    using var response = await node.Client.GetAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/orders-1", UriKind.Relative));
                    return response.StatusCode == status;
                },
                what);
        }
    }

    private static Task<List<string>> NextCacheAsync(NodeScript client, Func<List<string>, bool> until) => EurekaScenario.NextCacheAsync(client, until, Within);
}
