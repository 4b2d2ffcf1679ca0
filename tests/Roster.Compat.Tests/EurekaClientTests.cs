using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Roster.Compat.Tests;

/// <summary>
/// The npm <c>eureka-js-client</c> (4.5.0, run with Node.js; <c>clients/eureka-scenario.js</c>) against a Roster node:
/// it registers and heartbeats, fetches the registry in full and then as deltas, sees an instance registered through
/// Roster's native API and a Roster drain as <c>OUT_OF_SERVICE</c>; after a pause long enough for its lease to lapse,
/// its next heartbeat is told 404 and it registers again; stopping it cancels its registration.
/// </summary>
public sealed class EurekaClientTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);
    private RosterTestServer _roster = null!;

    public async Task InitializeAsync() =>
        _roster = await RosterTestServer.StartAsync(true, "--Roster:Eureka:Namespace=prod", "--Roster:Node:ExpiryScanInterval=00:00:00.100");

    public async Task DisposeAsync() => await _roster.DisposeAsync();

    [Fact]
    public async Task Eureka_js_client_registers_heartbeats_fetches_deltas_and_sees_native_changes()
    {
        await using var client = NodeScript.Start("eureka-scenario.js", "127.0.0.1", _roster.Address.Port.ToString(CultureInfo.InvariantCulture));

        await client.NextAsync("registered", Within);
        await client.NextAsync("started", Within);
        Assert.Equal(["orders-1:UP"], EurekaScenario.Instances(await client.NextAsync("cache", Within)));
        await client.NextAsync("heartbeat", Within);

        // Its registration is a Roster instance: the application in lower case, ipAddr as the address, its lease.
        var native = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/orders-1");
        Assert.Equal("10.3.0.1", native.GetProperty("address").GetString());
        Assert.Equal(8080, native.GetProperty("port").GetInt32());
        Assert.Equal(3, native.GetProperty("ttlSeconds").GetInt32());
        Assert.Equal("node", native.GetProperty("metadata").GetProperty("runtime").GetString());
        Assert.Equal("orders-1.local", native.GetProperty("metadata").GetProperty("eureka-hostname").GetString());
        var incarnation = native.GetProperty("incarnation").GetInt64();

        // A registration through the native API reaches its cache through a delta.
        using (var registered = await _roster.RegisterAsync("prod", "orders", "orders-2", new { address = "10.3.0.2", port = 8081, ttlSeconds = 60 }))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        Assert.Equal(["orders-1:UP", "orders-2:UP"], await NextCacheAsync(client, c => c.Count == 2));

        // A drain in Roster is Eureka's OUT_OF_SERVICE.
        using (var drained = await _roster.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/orders-2", UriKind.Relative), RosterTestServer.Json(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
        }

        Assert.Equal(["orders-1:UP", "orders-2:OUT_OF_SERVICE"], await NextCacheAsync(client, c => c.Contains("orders-2:OUT_OF_SERVICE")));

        // The process freezes past its 3 s lease: Roster expires it, and the client's cache loses it through a delta.
        await client.SendAsync("pause");
        await client.NextAsync("paused", Within);
        Assert.Equal(["orders-2:OUT_OF_SERVICE"], await NextCacheAsync(client, c => !c.Contains("orders-1:UP")));
        using (var gone = await _roster.Client.GetAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/orders-1", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        // Its next heartbeat is told 404 and it registers again: a new incarnation, back in every list.
        await client.SendAsync("resume");
        await client.NextAsync("registered", Within);
        Assert.Equal(["orders-1:UP", "orders-2:OUT_OF_SERVICE"], await NextCacheAsync(client, c => c.Contains("orders-1:UP")));
        var again = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/orders-1");
        Assert.True(again.GetProperty("incarnation").GetInt64() > incarnation);

        await client.SendAsync("requests");
        var requests = (await client.NextAsync("requests", Within)).GetProperty("requests");
        Assert.True(requests.GetProperty("GET apps").GetInt32() >= 1, requests.ToString());
        Assert.True(requests.GetProperty("GET delta").GetInt32() >= 3, requests.ToString());
        Assert.True(requests.GetProperty("POST orders").GetInt32() >= 2, requests.ToString());
        Assert.True(requests.GetProperty("PUT orders/orders-1").GetInt32() >= 2, requests.ToString());

        // Stopping the client cancels its registration.
        await client.SendAsync("stop");
        Assert.Equal(JsonValueKind.Null, (await client.NextAsync("stopped", Within)).GetProperty("error").ValueKind);
        using (var cancelled = await _roster.Client.GetAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/orders-1", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, cancelled.StatusCode);
        }

        var audit = await _roster.GetJsonAsync("/api/v1/audit?namespace=prod&service=orders");
        Assert.Equal(
            ["register", "expire", "register", "deregister"],
            audit.GetProperty("entries").EnumerateArray().Where(e => e.GetProperty("id").GetString() == "orders-1").Select(e => e.GetProperty("action").GetString()));
    }

    private static Task<List<string>> NextCacheAsync(NodeScript client, Func<List<string>, bool> until) => EurekaScenario.NextCacheAsync(client, until, Within);
}
