using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Roster.Compat.Tests;

/// <summary>
/// The write side of the Consul agent API: a registration with a TTL check becomes a Roster instance with a lease,
/// passes renew it, a failing check turns it critical without touching an operator's drain, checks Roster would have to
/// run are refused and nothing changes, and deregistration removes it.
/// </summary>
public sealed class ConsulAgentTests : IAsyncLifetime
{
    private RosterTestServer _roster = null!;

    public async Task InitializeAsync() => _roster = await RosterTestServer.StartAsync(true, "--Roster:Consul:Namespace=prod");

    public async Task DisposeAsync() => await _roster.DisposeAsync();

    [Fact]
    public async Task A_consul_registration_is_a_roster_instance_with_a_lease_that_checks_renew_and_fail()
    {
        await PutAsync("/v1/agent/service/register", """
            {"ID":"web-1","Name":"web","Tags":["primary","v2"],"Address":"10.1.0.1","Port":8080,"Meta":{"team":"edge"},
             "Check":{"TTL":"15s","DeregisterCriticalServiceAfter":"1m"}}
            """, HttpStatusCode.OK);

        var native = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-1");
        Assert.Equal("10.1.0.1", native.GetProperty("address").GetString());
        Assert.Equal(15, native.GetProperty("ttlSeconds").GetInt32());
        Assert.Equal("primary,v2", native.GetProperty("metadata").GetProperty("tags").GetString());
        var agent = await GetJsonAsync("/v1/agent/services");
        Assert.Equal(["primary", "v2"], agent.GetProperty("web-1").GetProperty("Tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("edge", agent.GetProperty("web-1").GetProperty("Meta").GetProperty("team").GetString());
        Assert.False(agent.GetProperty("web-1").GetProperty("Meta").TryGetProperty("tags", out _));

        await PutAsync("/v1/agent/check/pass/service:web-1", null, HttpStatusCode.OK);
        Assert.Equal(["web-1"], await PassingAsync("web"));

        // Failing: critical, out of ?passing, the same incarnation (it was not registered again from scratch).
        var incarnation = native.GetProperty("incarnation").GetInt64();
        await PutAsync("/v1/agent/check/fail/service:web-1", null, HttpStatusCode.OK);
        Assert.Empty(await PassingAsync("web"));
        var health = await GetJsonAsync("/v1/health/service/web");
        Assert.Equal("critical", health[0].GetProperty("Checks")[0].GetProperty("Status").GetString());
        Assert.Equal(incarnation, (await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-1")).GetProperty("incarnation").GetInt64());

        // An operator's drain is not a check's: passing clears the check, the drain stays.
        using (var drain = await _roster.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/web/instances/web-1", UriKind.Relative), RosterTestServer.Json(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        }

        await PutAsync("/v1/agent/check/pass/service:web-1", null, HttpStatusCode.OK);
        Assert.Empty(await PassingAsync("web"));
        Assert.Equal("drained in Roster", (await GetJsonAsync("/v1/health/service/web"))[0].GetProperty("Checks")[0].GetProperty("Output").GetString());
        using (var undrain = await _roster.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/web/instances/web-1", UriKind.Relative), RosterTestServer.Json(new { drained = false })))
        {
            Assert.Equal(HttpStatusCode.OK, undrain.StatusCode);
        }

        Assert.Equal(["web-1"], await PassingAsync("web"));

        await PutAsync("/v1/agent/service/deregister/web-1", null, HttpStatusCode.OK);
        Assert.Empty((await GetJsonAsync("/v1/catalog/service/web")).EnumerateArray());
        await PutAsync("/v1/agent/service/deregister/web-1", null, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_service_without_checks_is_persistent_and_its_id_defaults_to_its_name()
    {
        await PutAsync("/v1/agent/service/register", """{"name":"cache","port":6379,"address":"10.1.0.9"}""", HttpStatusCode.OK);

        var native = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/cache/instances/cache");
        Assert.True(native.GetProperty("persistent").GetBoolean());
        await PutAsync("/v1/agent/check/pass/service:cache", null, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("""{"Name":"web","Port":80,"Check":{"HTTP":"http://10.0.0.1/health","Interval":"10s"}}""", "an HTTP check")]
    [InlineData("""{"Name":"web","Port":80,"Checks":[{"TTL":"10s"},{"Args":["/bin/check"],"Interval":"10s"}]}""", "a script check")]
    [InlineData("""{"Name":"web","Port":80,"Check":{"TCP":"10.0.0.1:80","Interval":"10s"}}""", "a TCP check")]
    [InlineData("""{"Name":"web","Port":80,"Check":{"TTL":"soon"}}""", "needs a TTL")]
    [InlineData("""{"Port":80}""", "Missing service name")]
    [InlineData("""{"Name":"Web_Service","Port":80}""", "Invalid service name")]
    [InlineData("""{"Name":"web","Port":0,"Address":"10.0.0.1"}""", "Invalid service port")]
    [InlineData("""{"Name":"web","Port":80,"Meta":{"consul-check":"passing"}}""", "Roster's")]
    [InlineData("""{"Name":"web",""", "Request decode failed")]
    public async Task Bad_registrations_are_refused_in_consuls_words_and_nothing_changes(string body, string message)
    {
        var before = (await _roster.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64();

        var answer = await PutAsync("/v1/agent/service/register", body, HttpStatusCode.BadRequest);

        Assert.Contains(message, answer, StringComparison.Ordinal);
        Assert.Equal(before, (await _roster.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task Checks_and_deregistrations_of_unknown_ids_are_404_and_writes_need_write_rights()
    {
        await PutAsync("/v1/agent/check/pass/service:nobody", null, HttpStatusCode.NotFound);
        await PutAsync("/v1/agent/check/shout/service:nobody", null, HttpStatusCode.NotFound);

        await using var guarded = await RosterTestServer.StartAsync(
            true, "--Roster:Consul:Namespace=prod", "--Roster:Auth:Tokens:0:Token=reader", "--Roster:Auth:Tokens:0:Namespaces:0=prod",
            "--Roster:Auth:Tokens:1:Token=writer", "--Roster:Auth:Tokens:1:Namespaces:0=prod", "--Roster:Auth:Tokens:1:Write=true");
        foreach (var (token, status) in new[] { ("reader", HttpStatusCode.Forbidden), ("writer", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/agent/service/register")
            {
                Content = new StringContent("""{"Name":"web","Port":80,"Address":"10.0.0.1"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Consul-Token", token);
            using var response = await guarded.Client.SendAsync(request);
            Assert.Equal(status, response.StatusCode);
        }
    }

    private async Task<string> PutAsync(string path, string? body, HttpStatusCode expected)
    {
        using var response = await _roster.Client.PutAsync(new Uri(path, UriKind.Relative), body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return text;
    }

    private async Task<JsonElement> GetJsonAsync(string path) => await _roster.Client.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative));

    private async Task<List<string?>> PassingAsync(string service) =>
        [.. (await GetJsonAsync($"/v1/health/service/{service}?passing")).EnumerateArray().Select(e => e.GetProperty("Service").GetProperty("ID").GetString())];
}
