using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>The figures the web console shows, as the API gives them: counts by state, watchers per service, uptime.</summary>
public sealed class ConsoleFiguresTests
{
    [Fact]
    public async Task Namespaces_and_services_count_each_instance_in_exactly_one_state()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        foreach (var id in (string[])["up", "drained", "disabled", "both", "override-zero"])
        {
            using var response = await server.RegisterAsync("prod", "orders", id, new { address = "10.0.0.1", port = 80 });
            response.EnsureSuccessStatusCode();
        }

        using (var zero = await server.RegisterAsync("prod", "payments", "registered-zero", new { address = "10.0.0.2", port = 80, weight = 0 }))
        {
            zero.EnsureSuccessStatusCode();
        }

        await PatchAsync(server, "drained", new { drained = true });
        await PatchAsync(server, "disabled", new { disabled = true });
        await PatchAsync(server, "both", new { drained = true, disabled = true });
        await PatchAsync(server, "override-zero", new { weight = 0 });

        var prod = (await server.GetJsonAsync("/api/v1/namespaces")).GetProperty("namespaces").EnumerateArray().Single();
        Assert.Equal((1, 1, 2, 2), States(prod));
        Assert.Equal(6, prod.GetProperty("instances").GetInt32());
        Assert.False(prod.GetProperty("selfPreservation").GetBoolean());

        var services = (await server.GetJsonAsync("/api/v1/namespaces/prod/services")).GetProperty("services").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal((1, 1, 2, 1), States(services["orders"]));
        Assert.Equal((0, 0, 0, 1), States(services["payments"]));
    }

    [Fact]
    public async Task Each_service_counts_the_watchers_that_receive_its_changes()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        foreach (var service in (string[])["orders", "payments"])
        {
            using var response = await server.RegisterAsync("prod", service, "a", new { address = "10.0.0.1", port = 80 });
            response.EnsureSuccessStatusCode();
        }

        using var ordersOnly = await OpenWatchAsync(server, "/api/v1/namespaces/prod/watch?service=orders");
        using var wholeNamespace = await OpenWatchAsync(server, "/api/v1/namespaces/prod/watch");
        await Eventually.TrueAsync(async () => await WatchersAsync(server) is { orders: 2, payments: 1 }, "orders has two watchers and payments one");

        ordersOnly.Dispose();
        await Eventually.TrueAsync(async () => await WatchersAsync(server) is { orders: 1, payments: 1 }, "the orders-only watcher has left");
    }

    [Fact]
    public async Task Status_says_when_the_node_started_and_for_how_long_it_has_run()
    {
        var before = DateTimeOffset.UtcNow;
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        var status = await server.GetJsonAsync("/api/v1/status");
        var startedAt = status.GetProperty("startedAt").GetDateTimeOffset();
        Assert.InRange(startedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        Assert.InRange(status.GetProperty("uptimeSeconds").GetDouble(), 0, (DateTimeOffset.UtcNow - before).TotalSeconds + 1);
    }

    private static (int Up, int Drained, int Disabled, int WeightZero) States(JsonElement item)
    {
        var states = item.GetProperty("states");
        return (states.GetProperty("up").GetInt32(), states.GetProperty("drained").GetInt32(), states.GetProperty("disabled").GetInt32(),
            states.GetProperty("weightZero").GetInt32());
    }

    private static async Task<(int orders, int payments)> WatchersAsync(RosterTestServer server)
    {
        var services = (await server.GetJsonAsync("/api/v1/namespaces/prod/services")).GetProperty("services").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("watchers").GetInt32());
        return (services["orders"], services["payments"]);
    }

    private static async Task<HttpResponseMessage> OpenWatchAsync(RosterTestServer server, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return response;
    }

    private static async Task PatchAsync(RosterTestServer server, string id, object patch)
    {
        using var response = await server.Client.PatchAsync(
            new Uri($"/api/v1/namespaces/prod/services/orders/instances/{id}", UriKind.Relative), JsonContent.Create(patch));
        response.EnsureSuccessStatusCode();
    }
}
