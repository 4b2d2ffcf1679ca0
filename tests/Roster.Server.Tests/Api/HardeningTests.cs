using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Roster.Server.Tests.Support;

namespace Roster.Server.Tests.Api;

/// <summary>
/// The requests that crashed, flooded or got past the node when it was tried from outside (findings 4 to 16
/// of the integrity issue), each answered with the right status and a problem naming the field, and
/// leaving the registry as it was. A node with auth on runs beside an open one.
/// </summary>
public sealed class HardeningTests : IAsyncLifetime
{
    private const string Token = "hardening-writer-token";
    private const string Instance = "/api/v1/namespaces/prod/services/orders/instances/a1";
    private const string Renew = "/api/v1/leases/renew";
    private RosterTestServer _open = null!;
    private RosterTestServer _guarded = null!;

    public async Task InitializeAsync()
    {
        _open = await RosterTestServer.StartAsync(inMemory: true);
        _guarded = await RosterTestServer.StartAsync(
            true, "--Roster:Auth:Tokens:0:Token=" + Token, "--Roster:Auth:Tokens:0:Namespaces:0=*", "--Roster:Auth:Tokens:0:Write=true");
        foreach (var server in new[] { _open, _guarded })
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(Instance, UriKind.Relative)) { Content = RosterTestServer.Json(new { address = "10.0.0.1", port = 80 }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    public async Task DisposeAsync()
    {
        await _open.DisposeAsync();
        await _guarded.DisposeAsync();
    }

    public static TheoryData<string, bool, string, string, string, string?, int, string> Cases()
    {
        const string json = "application/json";
        var oversized = "{\"leases\":[" + string.Join(',', Enumerable.Repeat("{\"namespace\":\"prod\",\"service\":\"orders\",\"id\":\"a1\",\"incarnation\":1}", 140_000)) + "]}";
        return new TheoryData<string, bool, string, string, string, string?, int, string>
        {
            // finding, auth on, method, path, content type, body, status, field
            { "4 null lease", false, "POST", Renew, json, "{\"leases\":[null]}", 400, "leases[0]" },
            { "4 null lease, no token", true, "POST", Renew, json, "{\"leases\":[null]}", 401, "Authorization" },
            { "10 port as string", false, "PUT", Instance, json, "{\"address\":\"10.0.0.1\",\"port\":\"80\"}", 400, "port" },
            { "10 weight as string", false, "PUT", Instance, json, "{\"address\":\"10.0.0.1\",\"port\":80,\"weight\":\"7\"}", 400, "weight" },
            { "10 ttl as string", false, "PUT", Instance, json, "{\"address\":\"10.0.0.1\",\"port\":80,\"ttlSeconds\":\"5\"}", 400, "ttlSeconds" },
            { "10 incarnation as string", false, "PUT", Instance, json, "{\"address\":\"10.0.0.1\",\"port\":80,\"incarnation\":\"1\"}", 400, "incarnation" },
            { "10 renewal incarnation as string", false, "POST", Renew, json, "{\"leases\":[{\"namespace\":\"prod\",\"service\":\"orders\",\"id\":\"a1\",\"incarnation\":\"1\"}]}", 400, "leases[0].incarnation" },
            { "11 empty renewal, no token", true, "POST", Renew, json, "{\"leases\":[]}", 401, "Authorization" },
            { "11 oversized renewal, no token", true, "POST", Renew, json, oversized, 401, "Authorization" },
            { "11 register, no token, bad name", true, "PUT", "/api/v1/namespaces/BAD/services/orders/instances/a1", json, "{}", 401, "Authorization" },
            { "13 incarnation abc", false, "DELETE", Instance + "?incarnation=abc", json, null, 400, "incarnation" },
            { "13 incarnation 1e3", false, "DELETE", Instance + "?incarnation=1e3", json, null, 400, "incarnation" },
            { "13 incarnation twice", false, "DELETE", Instance + "?incarnation=1&incarnation=2", json, null, 400, "incarnation" },
            { "13 truncated metadata", false, "PUT", Instance, json, "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":{\"a\":\"b\"", 400, "metadata" },
            { "13 wrong type", false, "PUT", Instance, json, "{\"address\":10,\"port\":80}", 400, "address" },
            { "15 hex address", false, "PUT", Instance, json, "{\"address\":\"0x0a.0.0.1\",\"port\":80}", 400, "address" },
            { "15 octal address", false, "PUT", Instance, json, "{\"address\":\"010.0.0.1\",\"port\":80}", 400, "address" },
            { "15 zone index", false, "PUT", Instance, json, "{\"address\":\"fe80::1%eth0\",\"port\":80}", 400, "address" },
            { "15 empty label", false, "PUT", "/api/v1/namespaces/a..b/services/orders/instances/a1", json, "{\"address\":\"10.0.0.1\",\"port\":80}", 400, "namespace" },
            { "15 label starting with -", false, "PUT", "/api/v1/namespaces/a.-b/services/orders/instances/a1", json, "{\"address\":\"10.0.0.1\",\"port\":80}", 400, "namespace" },
            { "15 ttl with persistent", false, "PUT", Instance, json, "{\"address\":\"10.0.0.1\",\"port\":80,\"persistent\":true,\"ttlSeconds\":30}", 400, "ttlSeconds" },
            { "15 latin-1 body", false, "PUT", Instance, "application/json; charset=iso-8859-1", "{\"address\":\"10.0.0.1\",\"port\":80}", 415, "Content-Type" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Refused_WithAProblemNamingTheField_AndNothingChanges(
        string finding, bool auth, string method, string path, string contentType, string? body, int status, string field)
    {
        var server = auth ? _guarded : _open;
        var before = await SnapshotAsync(server);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await server.Client.SendAsync(request);

        Assert.True(status == (int)response.StatusCode, $"{finding}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        AssertInTheApisWords(problem);
        if (status == 401)
        {
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await SnapshotAsync(server));
    }

    [Theory]
    [InlineData("7 chunk size past any limit", "POST /api/v1/leases/renew HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\nTransfer-Encoding: chunked\n\nffffffffffffffff\n{}\n0\n\n", 400, "body")]
    [InlineData("15 Content-Length with chunked", "PUT /api/v1/namespaces/prod/services/orders/instances/a1 HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\nContent-Length: 33\nTransfer-Encoding: chunked\n\n21\n{\"address\":\"10.0.0.1\",\"port\":81}\n0\n\n", 400, "Content-Length")]
    public async Task MalformedFraming_Is4xx_NamingTheField(string finding, string raw, int status, string field)
    {
        var before = await SnapshotAsync(_open);

        var (answered, headers, problem) = await RawHttp.SendAsync(_open.Address, raw);

        Assert.True(status == answered, $"{finding}: {headers}");
        Assert.NotNull(problem);
        Assert.Equal(field, problem.Value.GetProperty("field").GetString());
        Assert.Equal(before, await SnapshotAsync(_open));
    }

    [Fact]
    public async Task LargeOrChunkedRenewals_AreParsedAsTheyArrive_WithTheSameAnswersAndLimits()
    {
        var incarnation = (await _open.GetJsonAsync(Instance)).GetProperty("incarnation").GetInt64();
        string Renewal(int count, string? badAt = null) =>
            "{\"leases\":[" + string.Join(',', Enumerable.Range(0, count).Select(i =>
                $"{{\"namespace\":\"prod\",\"service\":\"orders\",\"id\":\"a1\",\"incarnation\":{(i == 3 && badAt is not null ? badAt : incarnation)}}}")) + "]}";

        // 20,000 leases, about 1.4 MB: over the streaming threshold, with a length and without one.
        var large = Renewal(20_000);
        foreach (var chunked in new[] { false, true })
        {
            using var response = await _open.Client.PostAsync(new Uri(Renew, UriKind.Relative), Body(large, chunked));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(20_000, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ok").GetInt32());
        }

        using (var bad = await _open.Client.PostAsync(new Uri(Renew, UriKind.Relative), Body(Renewal(10, badAt: "\"x\""), chunked: true)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("leases[3].incarnation", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        }

        using (var empty = await _open.Client.PostAsync(new Uri(Renew, UriKind.Relative), Body(string.Empty, chunked: true)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
            Assert.Equal("body", (await empty.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        }

        // Refused part way: the answer closes the connection (the rest of the body was never read), and the
        // client's next request goes out on a new one.
        using (var huge = await _open.Client.PostAsync(new Uri(Renew, UriKind.Relative), Body(Renewal(130_000), chunked: true)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
            Assert.True(huge.Headers.ConnectionClose);
        }

        using (var after = await _open.Client.PostAsync(new Uri(Renew, UriKind.Relative), Body(Renewal(5), chunked: false)))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }
    }

    private static HttpContent Body(string json, bool chunked)
    {
        HttpContent content = chunked ? new UnknownLengthContent(Encoding.UTF8.GetBytes(json)) : new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>A body whose length is not announced, so it travels chunked.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task Deregister_AnswersWithTheRevisionOfTheChange()
    {
        using var created = await _open.RegisterAsync("prod", "orders", "leaving", new { address = "10.0.0.9", port = 90 });
        var registered = long.Parse(created.Headers.GetValues("Roster-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture);

        using var deleted = await _open.Client.DeleteAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/leaving", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(registered + 1, long.Parse(deleted.Headers.GetValues("Roster-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task RateLimit_LeavesHealthReadinessAndMetricsAlone()
    {
        await using var limited = await RosterTestServer.StartAsync(true, "--Roster:RateLimit:PermitsPerSecond=2", "--Roster:RateLimit:Burst=2");
        var limitedApi = 0;
        for (var i = 0; i < 20; i++)
        {
            using var api = await limited.Client.GetAsync(new Uri("/api/v1/namespaces", UriKind.Relative));
            limitedApi += api.StatusCode == HttpStatusCode.TooManyRequests ? 1 : 0;
            foreach (var probe in new[] { "/healthz", "/readyz", "/metrics" })
            {
                using var response = await limited.Client.GetAsync(new Uri(probe, UriKind.Relative));
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{probe}: {(int)response.StatusCode}");
            }
        }

        Assert.True(limitedApi > 0, "the API itself is limited");
    }

    [Fact]
    public async Task SameTokenTwice_RefusesToStart_NamingTheEntryButNotTheToken()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => RosterTestServer.StartAsync(
            true,
            "--Roster:Auth:Tokens:0:Token=twice-configured-secret", "--Roster:Auth:Tokens:0:Namespaces:0=*",
            "--Roster:Auth:Tokens:1:Token=twice-configured-secret", "--Roster:Auth:Tokens:1:Namespaces:0=prod"));

        Assert.Contains("Roster:Auth:Tokens:1 has the same token as Roster:Auth:Tokens:0", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("twice-configured-secret", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenFromAFile_Authenticates()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "token-from-a-file\n");
        try
        {
            await using var server = await RosterTestServer.StartAsync(true, "--Roster:Auth:Tokens:0:TokenFile=" + file, "--Roster:Auth:Tokens:0:Namespaces:0=*");
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/namespaces", UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "token-from-a-file");
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void AssertInTheApisWords(JsonElement problem)
    {
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(detail));
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Int32", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Int64", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("nested too deeply", detail, StringComparison.Ordinal);
    }

    private static async Task<string> SnapshotAsync(RosterTestServer server)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/namespaces/prod/services/orders", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await server.Client.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
