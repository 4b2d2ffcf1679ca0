using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Cluster.Tests;

/// <summary>
/// The npm <c>consul</c> client talks to one node of a three-node cluster while Roster's native writes go to another:
/// its registration, its check passes and its blocking-query watch work there, the watch sees the other node's
/// registration and drain, and its lapsed instance is removed on every node.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class ConsulClusterTests(BrokersFixture brokers) : IAsyncLifetime
{
    private ClusterProcesses _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("consul"), 3, "--Roster:Consul:Namespace=prod", "--Roster:Node:ExpiryScanInterval=00:00:00.100");

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task The_consul_client_on_one_node_sees_writes_made_at_another()
    {
        var (asked, writer) = (_cluster.Nodes[1], _cluster.Nodes[0]);
        await using var client = NodeScript.Start("consul-scenario.js", "127.0.0.1", asked.Address.Port.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(["web-1"], Ids(await client.NextAsync("watch", TimeSpan.FromSeconds(20))));

        using (var registered = await writer.Client.PutAsJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-2", new { address = "10.2.0.2", port = 8080, ttlSeconds = 60 }))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        Assert.Equal(["web-1", "web-2"], Ids(await client.NextAsync("watch")));
        using (var drained = await writer.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/web/instances/web-2", UriKind.Relative), JsonContent.Create(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
        }

        Assert.Equal(["web-1"], Ids(await client.NextAsync("watch")));

        // Nobody passes web-1's check: its lease lapses, and every node removes it.
        Assert.Empty(Ids(await client.NextAsync("watch", TimeSpan.FromSeconds(20))));
        foreach (var node in _cluster.Nodes)
        {
            await Eventually.TrueAsync(
                async () => (await node.Client.GetAsync(new Uri("/api/v1/namespaces/prod/services/web/instances/web-1", UriKind.Relative))).StatusCode == HttpStatusCode.NotFound,
                "every node removed the lapsed instance");
        }

        await client.SendAsync("stop");
    }

    private static List<string?> Ids(JsonElement line) => [.. line.GetProperty("ids").EnumerateArray().Select(i => i.GetString())];
}
