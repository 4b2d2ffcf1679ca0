using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Compat.Tests;

/// <summary>
/// The read side of the Consul HTTP API over one Roster namespace: catalog and health answers in Consul's shapes,
/// <c>X-Consul-Index</c> on every answer, blocking queries that wake on the change (and only on a change of what they
/// ask), Consul's plain-text errors, and <c>X-Consul-Token</c> read as the Roster token.
/// </summary>
public sealed class ConsulReadTests : IAsyncLifetime
{
    private RosterTestServer _roster = null!;

    public async Task InitializeAsync()
    {
        _roster = await RosterTestServer.StartAsync(true, "--Roster:Consul:Namespace=prod");
        await RegisterAsync("orders", "a1", new { address = "10.0.0.1", port = 8080, weight = 7, metadata = new Dictionary<string, string> { ["tags"] = "primary, v1", ["team"] = "checkout" } });
        await RegisterAsync("orders", "a2", new { address = "10.0.0.2", port = 8080 });
        await RegisterAsync("payments", "p1", new { address = "10.0.0.3", port = 9090 });
        using var drain = await _roster.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a2", UriKind.Relative), RosterTestServer.Json(new { drained = true }));
        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
    }

    public async Task DisposeAsync() => await _roster.DisposeAsync();

    [Fact]
    public async Task Catalog_and_health_answer_in_consuls_shapes_with_an_index()
    {
        var (services, index) = await GetAsync("/v1/catalog/services");
        Assert.True(index >= 1);
        Assert.Equal(["primary", "v1"], services.GetProperty("orders").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(0, services.GetProperty("payments").GetArrayLength());

        var (catalog, _) = await GetAsync("/v1/catalog/service/orders");
        var a1 = catalog.EnumerateArray().Single(e => e.GetProperty("ServiceID").GetString() == "a1");
        Assert.Equal("10.0.0.1", a1.GetProperty("ServiceAddress").GetString());
        Assert.Equal(8080, a1.GetProperty("ServicePort").GetInt32());
        Assert.Equal("checkout", a1.GetProperty("ServiceMeta").GetProperty("team").GetString());
        Assert.Equal(7, a1.GetProperty("ServiceWeights").GetProperty("Passing").GetInt32());

        var (health, _) = await GetAsync("/v1/health/service/orders");
        Assert.Equal(2, health.GetArrayLength());
        var drained = health.EnumerateArray().Single(e => e.GetProperty("Service").GetProperty("ID").GetString() == "a2");
        Assert.Equal("critical", drained.GetProperty("Checks")[0].GetProperty("Status").GetString());
        var (passing, _) = await GetAsync("/v1/health/service/orders?passing");
        Assert.Equal(["a1"], passing.EnumerateArray().Select(e => e.GetProperty("Service").GetProperty("ID").GetString()));

        var (leader, _) = await GetAsync("/v1/status/leader");
        Assert.Equal($"127.0.0.1:{_roster.Address.Port}", leader.GetString());
        var (self, _) = await GetAsync("/v1/agent/self");
        Assert.Equal("dc1", self.GetProperty("Config").GetProperty("Datacenter").GetString());
        var (nothing, _) = await GetAsync("/v1/health/service/no-such-service");
        Assert.Equal(0, nothing.GetArrayLength());
    }

    [Fact]
    public async Task A_blocking_query_wakes_on_a_change_of_its_service_within_a_second()
    {
        var (_, index) = await GetAsync("/v1/health/service/orders?passing");
        var blocked = GetAsync($"/v1/health/service/orders?passing&index={index}&wait=30s");

        var changed = Stopwatch.StartNew();
        await RegisterAsync("orders", "a3", new { address = "10.0.0.4", port = 8080 });
        var (answer, newIndex) = await blocked.WaitAsync(TimeSpan.FromSeconds(1));

        Assert.True(newIndex > index);
        Assert.Contains("a3", answer.EnumerateArray().Select(e => e.GetProperty("Service").GetProperty("ID").GetString()));
        Assert.True(changed.Elapsed < TimeSpan.FromSeconds(1), $"woke {changed.ElapsedMilliseconds} ms after the change");
    }

    [Fact]
    public async Task A_blocking_query_sleeps_through_other_services_changes_and_answers_when_its_wait_ends()
    {
        var (_, index) = await GetAsync("/v1/catalog/service/orders");
        var asked = Stopwatch.StartNew();
        var blocked = GetAsync($"/v1/catalog/service/orders?index={index}&wait=1s");
        await RegisterAsync("payments", "p2", new { address = "10.0.0.5", port = 9090 });

        var (answer, answeredIndex) = await blocked.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(asked.Elapsed >= TimeSpan.FromMilliseconds(950), $"answered after {asked.ElapsedMilliseconds} ms, before its wait ended");
        Assert.True(answeredIndex > index);
        Assert.Equal(2, answer.GetArrayLength());
    }

    [Theory]
    [InlineData("index=0")]
    [InlineData("index=999999999")]
    public async Task An_index_the_node_cannot_wait_from_answers_at_once(string query)
    {
        var (answer, _) = await GetAsync("/v1/catalog/service/orders?wait=30s&" + query).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, answer.GetArrayLength());
    }

    [Theory]
    [InlineData("/v1/catalog/service/orders?index=abc", "Invalid index")]
    [InlineData("/v1/catalog/service/orders?index=-1", "Invalid index")]
    [InlineData("/v1/health/service/orders?index=1&wait=5x", "Invalid wait time")]
    [InlineData("/v1/catalog/services?wait=s", "Invalid wait time")]
    public async Task Bad_queries_answer_consuls_plain_text_400(string path, string message)
    {
        var before = await _roster.GetJsonAsync("/api/v1/status");
        using var response = await _roster.Client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(message + "\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(before.GetProperty("revision").GetInt64(), (await _roster.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task X_Consul_Token_is_read_as_the_roster_token()
    {
        await using var guarded = await RosterTestServer.StartAsync(
            true, "--Roster:Consul:Namespace=prod", "--Roster:Auth:Tokens:0:Token=consul-reader", "--Roster:Auth:Tokens:0:Namespaces:0=prod",
            "--Roster:Auth:Tokens:1:Token=other-reader", "--Roster:Auth:Tokens:1:Namespaces:0=billing");

        foreach (var (token, status, body) in new[] { (null, 403, "ACL not found\n"), ("other-reader", 403, "Permission denied\n"), ("consul-reader", 200, "[]") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/catalog/service/orders");
            if (token is not null)
            {
                request.Headers.Add("X-Consul-Token", token);
            }

            using var response = await guarded.Client.SendAsync(request);
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
        }
    }

    [Theory]
    [InlineData("10s", 10_000d)]
    [InlineData("1m30s", 90_000d)]
    [InlineData("250ms", 250d)]
    [InlineData("1.5h", 5_400_000d)]
    [InlineData("", null)]
    [InlineData("5", null)]
    [InlineData("5x", null)]
    [InlineData("s", null)]
    public void Wait_times_are_read_as_go_durations(string text, double? milliseconds) =>
        Assert.Equal(milliseconds, Roster.Server.Api.GoDuration.TryParse(text)?.TotalMilliseconds);

    private async Task RegisterAsync(string service, string id, object body)
    {
        using var response = await _roster.RegisterAsync("prod", service, id, body);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
    }

    private async Task<(JsonElement Body, long Index)> GetAsync(string path)
    {
        using var response = await _roster.Client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var index = long.Parse(response.Headers.GetValues("X-Consul-Index").Single(), CultureInfo.InvariantCulture);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(), index);
    }
}
