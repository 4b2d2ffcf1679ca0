using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>
/// Every case of the design's bad-input list: the status, a problem body naming the field, and a
/// registry that did not change.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private const string Instance = "/api/v1/namespaces/prod/services/orders/instances/a1";
    private RosterTestServer _server = null!;
    private long _staleIncarnation;

    public async Task InitializeAsync()
    {
        _server = await RosterTestServer.StartAsync(inMemory: true);
        using var first = await _server.RegisterAsync("prod", "orders", "a1", new { address = "10.0.0.1", port = 80 });
        _staleIncarnation = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("incarnation").GetInt64();
        using var second = await _server.RegisterAsync("prod", "orders", "a1", new { address = "10.0.0.1", port = 81 });
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, string, string, string?, int, string> Cases()
    {
        var deep = "{\"address\":\"10.0.0.1\",\"port\":80,\"checks\":" + string.Concat(Enumerable.Repeat("{\"a\":", 20)) + "1" + new string('}', 20) + "}";
        var manyKeys = "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":{" + string.Join(',', Enumerable.Range(0, 65).Select(i => $"\"k{i}\":\"v\"")) + "}}";
        var bigMetadata = "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":{" + string.Join(',', Enumerable.Range(0, 8).Select(i => $"\"k{i}\":\"{new string('v', 1000)}\"")) + "}}";
        var longKey = "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":{\"" + new string('k', 129) + "\":\"v\"}}";
        var huge = "{\"address\":\"10.0.0.1\",\"port\":80,\"zone\":\"" + new string('z', 70_000) + "\"}";
        const string ok = "{\"address\":\"10.0.0.1\",\"port\":80}";
        return new TheoryData<string, string, string, string?, int, string>
        {
            // method, path, content type, body, status, field
            { "PUT", "/api/v1/namespaces/Prod/services/orders/instances/a1", "application/json", ok, 400, "namespace" },
            { "PUT", $"/api/v1/namespaces/{new string('a', 254)}/services/orders/instances/a1", "application/json", ok, 400, "namespace" },
            { "PUT", $"/api/v1/namespaces/prod/services/{new string('s', 64)}/instances/a1", "application/json", ok, 400, "service" },
            { "PUT", "/api/v1/namespaces/prod/services/or_ders/instances/a1", "application/json", ok, 400, "service" },
            { "PUT", "/api/v1/namespaces/prod/services/-orders/instances/a1", "application/json", ok, 400, "service" },
            { "PUT", "/api/v1/namespaces/prod/services/orders/instances/a%20b", "application/json", ok, 400, "id" },
            { "PUT", Instance, "application/json", "{\"address\":\"999.1.1.1\",\"port\":80}", 400, "address" },
            { "PUT", Instance, "application/json", "{\"address\":\"bad host!\",\"port\":80}", 400, "address" },
            { "PUT", Instance, "application/json", "{\"port\":80}", 400, "address" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":0}", 400, "port" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":65536}", 400, "port" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\"}", 400, "port" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":\"eighty\"}", 400, "port" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"ttlSeconds\":1}", 400, "ttlSeconds" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"ttlSeconds\":86400}", 400, "ttlSeconds" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"weight\":-1}", 400, "weight" },
            { "PUT", Instance, "application/json", manyKeys, 400, "metadata" },
            { "PUT", Instance, "application/json", bigMetadata, 400, "metadata" },
            { "PUT", Instance, "application/json", longKey, 400, "metadata." + new string('k', 129) },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":{\"a\":1}}", 400, "metadata.a" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":{\"a\":\"1\",\"a\":\"2\"}}", 400, "metadata.a" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"metadata\":[\"a\"]}", 400, "metadata" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",", 400, "body" },
            { "PUT", Instance, "application/json", deep, 400, "checks" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"ttl\":5}", 400, "ttl" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"check\":{\"args\":[\"/bin/sh\",\"-c\",\"rm -rf /\"]}}", 400, "check" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80,\"healthCheck\":{\"script\":\"x\"}}", 400, "healthCheck" },
            { "PUT", Instance, "application/json", "", 400, "body" },
            { "PUT", Instance, "application/json", huge, 413, "body" },
            { "PUT", Instance, "text/plain", ok, 415, "Content-Type" },
            { "PATCH", Instance, "application/json", "{\"weight\":-5}", 400, "weight" },
            { "PATCH", Instance, "application/json", "{}", 400, "body" },
            { "PATCH", "/api/v1/namespaces/prod/services/orders/instances/nobody", "application/json", "{\"drained\":true}", 404, "id" },
            { "DELETE", "/api/v1/namespaces/prod/services/orders/instances/nobody", "application/json", null, 404, "id" },
            { "DELETE", Instance + "?incarnation=STALE", "application/json", null, 409, "incarnation" },
            { "PUT", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":99,\"incarnation\":STALE}", 409, "incarnation" },
            { "POST", "/api/v1/leases/renew", "application/json", "{}", 400, "leases" },
            { "POST", "/api/v1/leases/renew", "application/json", "{\"leases\":[{\"namespace\":\"BAD\",\"service\":\"orders\",\"id\":\"a1\",\"incarnation\":1}]}", 400, "leases[0].namespace" },
            { "POST", "/api/v1/leases/renew", "application/json", "{\"leases\":[{\"namespace\":\"prod\",\"service\":\"orders\",\"id\":\"a1\",\"incarnation\":0}]}", 400, "leases[0].incarnation" },
            { "GET", "/api/v1/namespaces/prod/watch?since=yesterday", "application/json", null, 400, "since" },
            { "GET", "/api/v1/namespaces/prod/watch?service=Orders", "application/json", null, 400, "service" },
            { "GET", "/api/v1/no-such-thing", "application/json", null, 404, "path" },
            { "POST", Instance, "application/json", "{\"address\":\"10.0.0.1\",\"port\":80}", 405, "method" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_AnswersProblemNamingTheField_AndChangesNothing(
        string method, string path, string contentType, string? body, int status, string field)
    {
        var before = await SnapshotAsync();
        var stale = _staleIncarnation.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path.Replace("STALE", stale, StringComparison.Ordinal), UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body.Replace("STALE", stale, StringComparison.Ordinal), Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        Assert.StartsWith("https://roster.dev/problems/", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    private async Task<string> SnapshotAsync()
    {
        var status = await _server.GetJsonAsync("/api/v1/status");
        var service = await _server.GetJsonAsync("/api/v1/namespaces/prod/services/orders");
        return $"{status.GetProperty("revision")} {service}";
    }
}
