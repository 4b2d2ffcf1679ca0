using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Cluster.Tests;

/// <summary>
/// Three <c>roster serve --cluster</c> processes on one stream of the shared brokers: the same registry on every
/// node, writes at any node, a node killed and restarted.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class ClusterNodeTests(BrokersFixture brokers) : IAsyncLifetime
{

    private ClusterProcesses _cluster = null!;

    private List<RosterProcess> Nodes => _cluster.Nodes;

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("nodes"));
    }

    [Fact]
    public async Task A_write_at_any_node_is_read_at_every_node_under_one_registry_id_and_revision()
    {
        var statuses = await Task.WhenAll(Nodes.Select(n => GetJsonAsync(n, "/api/v1/status")));
        Assert.Single(statuses.Select(s => s.GetProperty("registryId").GetString()).Distinct());
        Assert.Equal(3, statuses.Select(s => s.GetProperty("nodeId").GetString()).Distinct().Count());

        for (var i = 0; i < 3; i++)
        {
            using var created = await RegisterAsync(Nodes[i], $"i{i}", 8080 + i);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var revision = long.Parse(created.Headers.GetValues("Roster-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture);

            // Every other node serves it once it has applied that revision, and under the same revision.
            foreach (var node in Nodes)
            {
                await Eventually.TrueAsync(async () => (await GetJsonAsync(node, "/api/v1/status")).GetProperty("revision").GetInt64() >= revision, "every node applies the write", TimeSpan.FromSeconds(10));
                var instance = await GetJsonAsync(node, $"/api/v1/namespaces/default/services/orders/instances/i{i}");
                Assert.Equal(8080 + i, instance.GetProperty("port").GetInt32());
                Assert.Equal(revision, instance.GetProperty("revision").GetInt64());
            }
        }
    }

    [Fact]
    public async Task Every_node_lists_every_node_with_its_status_revision_and_leases()
    {
        using (var registered = await RegisterAsync(Nodes[1], "leased", 1))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        var ids = (await Task.WhenAll(Nodes.Select(n => GetJsonAsync(n, "/api/v1/status")))).Select(s => s.GetProperty("nodeId").GetString()).Order(StringComparer.Ordinal).ToList();
        foreach (var node in Nodes)
        {
            // Nodes announce themselves every second: soon each hears all three, live.
            JsonElement view = default;
            await Eventually.TrueAsync(
                async () =>
                {
                    view = await GetJsonAsync(node, "/api/v1/cluster");
                    var nodes = view.GetProperty("nodes").EnumerateArray().ToList();
                    return nodes.Count == 3 && nodes.All(n => n.GetProperty("status").GetString() == "live" && n.GetProperty("address").GetString()!.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
                },
                "every node hears the other two",
                TimeSpan.FromSeconds(15));
            Assert.True(view.GetProperty("clustered").GetBoolean());
            Assert.Equal(ids, view.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).ToList());
            Assert.Single(view.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("self").GetBoolean());
            Assert.True(view.GetProperty("stream").GetProperty("lastPosition").GetInt64() > view.GetProperty("stream").GetProperty("firstPosition").GetInt64());
        }

        // The node the instance was registered at owns its lease, and says so.
        var owner = (await GetJsonAsync(Nodes[1], "/api/v1/status")).GetProperty("nodeId").GetString();
        await Eventually.TrueAsync(
            async () => (await GetJsonAsync(Nodes[0], "/api/v1/cluster")).GetProperty("nodes").EnumerateArray()
                .Single(n => n.GetProperty("id").GetString() == owner).GetProperty("leases").GetInt32() == 1,
            "the others hear that node 1 owns one lease",
            TimeSpan.FromSeconds(15));

        // The CLI prints the same table.
        var printed = await RunCliAsync("cluster", "--server", Nodes[2].Address.ToString());
        Assert.All(ids, id => Assert.Contains(id!, printed, StringComparison.Ordinal));
        Assert.Contains("(this)", printed, StringComparison.Ordinal);
        Assert.Contains("live", printed, StringComparison.Ordinal);
    }

    private static async Task<string> RunCliAsync(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "roster.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(process.ExitCode == 0, error);
        return output;
    }

    [Fact]
    public async Task Writers_spread_over_theNodes_leave_every_node_with_the_same_registry()
    {
        // 8 writers, each on a node of its own choosing, registering, updating, draining and removing instances.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async writer =>
        {
            var random = new Random(writer);
            for (var op = 0; op < 75; op++)
            {
                var node = Nodes[random.Next(Nodes.Count)];
                var id = $"w{writer}-{random.Next(12)}";
                var service = $"svc{random.Next(4)}";
                using var response = random.Next(10) switch
                {
                    < 6 => await RegisterAsync(node, id, 9000 + random.Next(3), service),
                    < 8 => await node.Client.PatchAsync(
                        new Uri($"/api/v1/namespaces/default/services/{service}/instances/{id}", UriKind.Relative),
                        JsonContent.Create(new { drained = random.Next(2) == 0 })),
                    _ => await node.Client.DeleteAsync(new Uri($"/api/v1/namespaces/default/services/{service}/instances/{id}", UriKind.Relative)),
                };
                Assert.True(response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }));

        // A last write at one node, then every node must reach it and agree on every service.
        using var last = await RegisterAsync(Nodes[0], "last", 1);
        var end = long.Parse(last.Headers.GetValues("Roster-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var views = new List<string>();
        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => (await GetJsonAsync(node, "/api/v1/status")).GetProperty("revision").GetInt64() >= end, "every node reaches the last write", TimeSpan.FromSeconds(10));
            var services = await GetJsonAsync(node, "/api/v1/namespaces/default/services");
            views.Add(string.Join('\n', services.GetProperty("services").EnumerateArray()
                .Select(s => $"{s.GetProperty("name").GetString()} {s.GetProperty("instances").GetInt32()} {s.GetProperty("sequence").GetInt64()} {s.GetProperty("digest").GetString()}")));
        }

        Assert.Equal(views[0], views[1]);
        Assert.Equal(views[0], views[2]);
        Assert.Contains("svc", views[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_node_comes_back_with_everything_written_while_it_was_gone_before_it_says_ready()
    {
        using (var before = await RegisterAsync(Nodes[1], "before", 1))
        {
            Assert.Equal(HttpStatusCode.Created, before.StatusCode);
        }

        await Nodes[2].KillAsync();
        long end = 0;
        for (var i = 0; i < 50; i++)
        {
            using var written = await RegisterAsync(Nodes[i % 2], $"while-down-{i}", 2000 + i);
            Assert.Equal(HttpStatusCode.Created, written.StatusCode);
            end = Math.Max(end, long.Parse(written.Headers.GetValues("Roster-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture));
        }

        // RosterProcess returns once /readyz says ready: by then the node must hold everything.
        await _cluster.RestartNodeAsync(2);
        var status = await GetJsonAsync(Nodes[2], "/api/v1/status");
        Assert.True(status.GetProperty("revision").GetInt64() >= end);
        var service = await GetJsonAsync(Nodes[2], "/api/v1/namespaces/default/services/orders");
        Assert.Equal(51, service.GetProperty("instances").GetArrayLength());
        Assert.Equal(
            (await GetJsonAsync(Nodes[0], "/api/v1/namespaces/default/services/orders")).GetProperty("digest").GetString(),
            service.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task A_message_no_node_can_read_turns_every_node_failed_loudly_instead_of_being_skipped()
    {
        // A message of a newer Roster's format (version 9), as a node that was upgraded too early would write.
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = _cluster.Bus.Brokers[0] };
        await using (var connection = await factory.CreateConnectionAsync())
        {
            await using var channel = await connection.CreateChannelAsync(new RabbitMQ.Client.CreateChannelOptions(true, true));
            await RabbitMQ.Client.IChannelExtensions.BasicPublishAsync(channel, string.Empty, _cluster.Bus.StreamName, new byte[] { 9, 0, 0 });
        }

        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => (await GetJsonAsync(node, "/api/v1/status")).GetProperty("status").GetString() == "failed", "every node turns failed", TimeSpan.FromSeconds(10));
            using var ready = await node.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("format version 9", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Contains("roster_node_status{roster_status=\"failed\"} 1", await node.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
            Assert.Contains(node.Output(), line => line.StartsWith("crit", StringComparison.Ordinal));
            using var write = await RegisterAsync(node, "after-poison", 1);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, write.StatusCode);
        }
    }

    private static Task<HttpResponseMessage> RegisterAsync(RosterProcess node, string id, int port, string service = "orders") =>
        node.Client.PutAsync(
            new Uri($"/api/v1/namespaces/default/services/{service}/instances/{id}", UriKind.Relative),
            JsonContent.Create(new { address = "10.0.0.1", port, ttlSeconds = 30 }));

    private static Task<JsonElement> GetJsonAsync(RosterProcess node, string path) => History.ClusterChecks.GetJsonAsync(node, path);

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
    }
}
