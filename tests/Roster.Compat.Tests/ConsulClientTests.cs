using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Roster.Compat.Tests;

/// <summary>
/// The npm <c>consul</c> client (2.0.1, run with Node.js; <c>clients/consul-scenario.js</c>) against a Roster node: it
/// registers a service with a TTL check, passes it, finds it through the catalog and the health API, and watches the
/// passing instances with blocking queries, which see changes made through Roster's native API within a second; when
/// nobody passes the check, the lease lapses and the instance is removed, and the watch sees that too.
/// </summary>
public sealed class ConsulClientTests : IAsyncLifetime
{
    private RosterTestServer _roster = null!;

    public async Task InitializeAsync() =>
        _roster = await RosterTestServer.StartAsync(true, "--Roster:Consul:Namespace=prod", "--Roster:Node:ExpiryScanInterval=00:00:00.100");

    public async Task DisposeAsync() => await _roster.DisposeAsync();

    [Fact]
    public async Task The_npm_consul_client_registers_passes_lists_and_watches_through_roster()
    {
        await using var client = NodeScript.Start("consul-scenario.js", "127.0.0.1", _roster.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal("registered", (await client.NextAsync()).GetProperty("step").GetString());
        Assert.Equal("passed", (await client.NextAsync()).GetProperty("step").GetString());
        var catalog = await client.NextAsync();
        Assert.Equal(["web-1"], Ids(catalog));
        Assert.Equal(["js"], catalog.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["web-1"], Ids(await client.NextAsync("health")));
        Assert.Equal(["web-1"], Ids(await client.NextAsync("watch")));

        // Its registration is a Roster instance with a lease from its TTL check.
        var native = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-1");
        Assert.Equal(4, native.GetProperty("ttlSeconds").GetInt32());
        Assert.Equal("node", native.GetProperty("metadata").GetProperty("runtime").GetString());

        // A registration through the native API reaches its watch within a second.
        var changed = Stopwatch.StartNew();
        using (var registered = await _roster.RegisterAsync("prod", "web", "web-2", new { address = "10.2.0.2", port = 8080, ttlSeconds = 60 }))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        Assert.Equal(["web-1", "web-2"], Ids(await client.NextAsync("watch")));
        Assert.True(changed.Elapsed < TimeSpan.FromSeconds(1), $"the watch saw the registration after {changed.ElapsedMilliseconds} ms");

        // So does a drain: the drained instance leaves its list of passing instances.
        changed.Restart();
        using (var drained = await _roster.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/web/instances/web-2", UriKind.Relative), RosterTestServer.Json(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
        }

        Assert.Equal(["web-1"], Ids(await client.NextAsync("watch")));
        Assert.True(changed.Elapsed < TimeSpan.FromSeconds(1), $"the watch saw the drain after {changed.ElapsedMilliseconds} ms");

        // Nobody passes web-1's check any more: its lease lapses after its 4 s TTL, and the instance is removed.
        Assert.Empty(Ids(await client.NextAsync("watch", TimeSpan.FromSeconds(15))));
        using (var gone = await _roster.Client.GetAsync(new Uri("/api/v1/namespaces/prod/services/web/instances/web-1", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        await client.SendAsync("stop");
        Assert.Equal("stopped", (await client.NextAsync()).GetProperty("step").GetString());
    }

    private static List<string?> Ids(JsonElement line) => [.. line.GetProperty("ids").EnumerateArray().Select(i => i.GetString())];
}
