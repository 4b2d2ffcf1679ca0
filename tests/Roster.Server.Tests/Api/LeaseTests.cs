using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>Leases through the HTTP API, with the node's clock driven by the test.</summary>
public sealed class LeaseTests
{
    /// <summary>
    /// With the system clock, which is not aligned to anything (the manual clock in the other tests
    /// hid an expiry pass that never ended), an unrenewed instance goes within TTL + one pass.
    /// </summary>
    [Fact]
    public async Task UnrenewedInstance_ExpiresWithinTtlPlusAPass_WithTheRealClock()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        using var kept = await server.RegisterAsync("prod", "orders", "kept", new { address = "10.4.0.2", port = 80, persistent = true });
        using var registered = await server.RegisterAsync("prod", "orders", "short", new { address = "10.4.0.1", port = 80, ttlSeconds = 2 });
        var started = DateTime.UtcNow;

        await Eventually.TrueAsync(
            async () => (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances").GetArrayLength() == 1,
            "the unrenewed instance expires",
            TimeSpan.FromSeconds(10));
        var elapsed = DateTime.UtcNow - started;
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(6));
        var remaining = (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances")[0];
        Assert.Equal("kept", remaining.GetProperty("id").GetString());
    }

    [Fact]
    public async Task BatchRenewal_Keeps1000InstancesAlive_WhileUnrenewedOnesExpire()
    {
        var time = new ManualTimeProvider();
        await using var server = await RosterTestServer.StartAsync(true, time);
        var leases = new List<object>();
        for (var i = 0; i < 1010; i++)
        {
            using var response = await server.RegisterAsync("prod", $"svc{i % 10}", $"i{i}", new { address = "10.4.0.1", port = 1 + i, ttlSeconds = 10 });
            response.EnsureSuccessStatusCode();
            var incarnation = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("incarnation").GetInt64();
            if (i < 1000)
            {
                leases.Add(new { @namespace = "prod", service = $"svc{i % 10}", id = $"i{i}", incarnation });
            }
        }

        // Thirty seconds of the node's time, renewing every 4 s in one request for all 1,000.
        for (var round = 0; round < 8; round++)
        {
            time.Advance(TimeSpan.FromSeconds(4));
            using var renewed = await server.Client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative), RosterTestServer.Json(new { leases }));
            var body = await renewed.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(1000, body.GetProperty("ok").GetInt32());
        }

        // The ten that nobody renewed expire on the node's next pass; the thousand stay.
        await Eventually.TrueAsync(
            async () => (await server.GetJsonAsync("/api/v1/status")).GetProperty("instances").GetInt32() == 1000,
            "the 10 unrenewed instances expire");
        var metrics = await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("\nroster_leases_expired_total 10\n", metrics, StringComparison.Ordinal);

        using var late = await server.Client.PostAsync(
            new Uri("/api/v1/leases/renew", UriKind.Relative),
            RosterTestServer.Json(new { leases = new[] { new { @namespace = "prod", service = "svc0", id = "i1000", incarnation = 1001L } } }));
        Assert.Equal("unknown", (await late.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results")[0].GetString());
    }
}
