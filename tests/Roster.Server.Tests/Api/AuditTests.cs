using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>
/// <c>GET /api/v1/audit</c>: every change with who asked for it (the token's name), from where, on which node and
/// when, for registrations, drains, deregistrations and expiries; the same after a restart; never a token.
/// </summary>
public sealed class AuditTests
{
    private static readonly string[] Tokens =
    [
        "--Roster:Auth:Tokens:0:Token=secret-deployer", "--Roster:Auth:Tokens:0:Name=deployer",
        "--Roster:Auth:Tokens:0:Namespaces:0=*", "--Roster:Auth:Tokens:0:Write=true",
        "--Roster:Auth:Tokens:1:Token=secret-unnamed", "--Roster:Auth:Tokens:1:Namespaces:0=prod", "--Roster:Auth:Tokens:1:Write=true",
    ];

    [Fact]
    public async Task Registrations_Drains_Deregistrations_AndExpiries_NameTheirPrincipalClientNodeAndTime_AcrossARestart()
    {
        var time = new ManualTimeProvider();
        var started = time.GetUtcNow();
        await using var server = await RosterTestServer.StartAsync(false, time, Tokens);
        server.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "secret-deployer");
        await SendAsync(server, HttpMethod.Put, "kept", new { address = "10.0.0.1", port = 8080, persistent = true }, "secret-deployer");
        await SendAsync(server, HttpMethod.Put, "gone", new { address = "10.0.0.2", port = 8080, persistent = true }, "secret-deployer");
        await SendAsync(server, HttpMethod.Put, "leased", new { address = "10.0.0.3", port = 8080, ttlSeconds = 5 }, "secret-unnamed");
        time.Advance(TimeSpan.FromSeconds(2));
        await SendAsync(server, HttpMethod.Patch, "kept", new { drained = true }, "secret-unnamed");
        await SendAsync(server, HttpMethod.Delete, "gone", null, "secret-deployer");
        time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(
            async () => (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances").GetArrayLength() == 1,
            "the leased instance expires");

        var nodeId = (await server.GetJsonAsync("/api/v1/status")).GetProperty("nodeId").GetString();
        var before = await ReadAuditAsync(server.Client, "/api/v1/audit?namespace=prod&service=orders", "secret-unnamed");
        var entries = before.RootElement.GetProperty("entries").EnumerateArray()
            .Select(e => (
                Id: e.GetProperty("id").GetString(),
                Action: e.GetProperty("action").GetString(),
                Principal: e.GetProperty("principal").GetString(),
                Client: e.GetProperty("client").GetString(),
                Node: e.GetProperty("node").GetString()))
            .ToList();
        Assert.Equal(
            [
                ("kept", "register", "deployer", "127.0.0.1", nodeId),
                ("gone", "register", "deployer", "127.0.0.1", nodeId),
                ("leased", "register", "token 1", "127.0.0.1", nodeId),
                ("kept", "operator", "token 1", "127.0.0.1", nodeId),
                ("gone", "deregister", "deployer", "127.0.0.1", nodeId),
                ("leased", "expire", null, null, nodeId),
            ],
            entries);
        var all = before.RootElement.GetProperty("entries");
        Assert.True(all[3].GetProperty("drained").GetBoolean());
        Assert.Equal(started.AddSeconds(2).ToUnixTimeMilliseconds(), all[3].GetProperty("time").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.True(before.RootElement.GetProperty("complete").GetBoolean());
        Assert.DoesNotContain("secret-", before.RootElement.GetRawText(), StringComparison.Ordinal);

        // From a revision on, and the same story after a restart (the history is kept with the node's data).
        var third = all[2].GetProperty("revision").GetInt64();
        var after = await ReadAuditAsync(server.Client, $"/api/v1/audit?namespace=prod&since={third}&limit=2", "secret-deployer");
        Assert.Equal(
            [all[3].GetRawText(), all[4].GetRawText()],
            after.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetRawText()));

        await using var restarted = await server.StartAgainAsync(Tokens);
        var replayed = await ReadAuditAsync(restarted.Client, "/api/v1/audit?namespace=prod&service=orders", "secret-deployer");
        Assert.Equal(
            all.EnumerateArray().Select(e => e.GetRawText()),
            replayed.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetRawText()));
    }

    [Fact]
    public async Task WithoutTokens_EveryChangeIsAnonymous()
    {
        await using var server = await RosterTestServer.StartAsync(true);
        await SendAsync(server, HttpMethod.Put, "a", new { address = "10.0.0.1", port = 8080 }, token: null);

        using var audit = await ReadAuditAsync(server.Client, "/api/v1/audit", token: null);

        var entry = Assert.Single(audit.RootElement.GetProperty("entries").EnumerateArray());
        Assert.Equal(("anonymous", "127.0.0.1"), (entry.GetProperty("principal").GetString(), entry.GetProperty("client").GetString()));
    }

    [Theory]
    [InlineData("/api/v1/audit?since=-1", null, HttpStatusCode.BadRequest, "since")]
    [InlineData("/api/v1/audit?since=abc", null, HttpStatusCode.BadRequest, "since")]
    [InlineData("/api/v1/audit?limit=0", null, HttpStatusCode.BadRequest, "limit")]
    [InlineData("/api/v1/audit?limit=10001", null, HttpStatusCode.BadRequest, "limit")]
    [InlineData("/api/v1/audit?service=orders", null, HttpStatusCode.BadRequest, "namespace")]
    [InlineData("/api/v1/audit?namespace=Bad%20Name", null, HttpStatusCode.BadRequest, "namespace")]
    [InlineData("/api/v1/audit", "secret-unnamed", HttpStatusCode.Forbidden, "namespace")]
    [InlineData("/api/v1/audit?namespace=staging", "secret-unnamed", HttpStatusCode.Forbidden, "namespace")]
    [InlineData("/api/v1/audit?namespace=prod", null, HttpStatusCode.Unauthorized, "Authorization")]
    public async Task BadQueries_AndMissingRights_AreProblemsNamingTheField(string path, string? token, HttpStatusCode status, string field)
    {
        await using var server = await RosterTestServer.StartAsync(true, status is HttpStatusCode.BadRequest && token is null ? [] : Tokens);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    private static async Task SendAsync(RosterTestServer server, HttpMethod method, string id, object? body, string? token)
    {
        using var request = new HttpRequestMessage(method, new Uri($"/api/v1/namespaces/prod/services/orders/instances/{id}", UriKind.Relative))
        {
            Content = body is null ? null : RosterTestServer.Json(body),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await server.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<JsonDocument> ReadAuditAsync(HttpClient client, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
