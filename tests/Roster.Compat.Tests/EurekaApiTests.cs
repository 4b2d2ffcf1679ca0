using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace Roster.Compat.Tests;

/// <summary>
/// The Eureka REST API over HTTP: registrations in JSON (every port and data-centre shape clients send) and XML become
/// Roster instances; reads answer XML unless JSON is asked for, with Eureka's shapes and hash code; the delta names
/// each changed instance with its latest action; a status override is a drain that outlives re-registration; VIPs,
/// <c>/instances/{id}</c> and the <c>/eureka/v2</c> prefix; bad input and refused tokens answer 4xx and change nothing.
/// </summary>
public sealed class EurekaApiTests : IAsyncLifetime
{
    private RosterTestServer _roster = null!;

    public async Task InitializeAsync() => _roster = await RosterTestServer.StartAsync(true, "--Roster:Eureka:Namespace=prod", "--Roster:Consul:Namespace=prod");

    public async Task DisposeAsync() => await _roster.DisposeAsync();

    [Theory]
    [InlineData("""{"$": 8080, "@enabled": "true"}""", """{"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}""")]
    [InlineData("""{"$": "8080", "@enabled": true}""", """{"name": "MyOwn"}""")]
    [InlineData("8080", null)]
    [InlineData("\"8080\"", null)]
    public async Task A_json_registration_is_a_roster_instance_whatever_shape_its_port_takes(string port, string? dataCenterInfo)
    {
        var body = $$$"""
            {"instance": {"instanceId": "host-1:cart:8080", "hostName": "host-1", "app": "CART", "ipAddr": "10.4.0.1",
             "status": "UP", "port": {{{port}}}, "securePort": {"$": 443, "@enabled": "false"},
             {{{(dataCenterInfo is null ? "" : $"\"dataCenterInfo\": {dataCenterInfo},")}}}
             "leaseInfo": {"renewalIntervalInSecs": 10, "durationInSecs": 30},
             "metadata": {"@class": "java.util.Collections$EmptyMap", "zone": "eu-1", "management.port": "9090"},
             "vipAddress": "cart", "secureVipAddress": "cart", "homePageUrl": "http://host-1:8080/",
             "healthCheckUrl": "http://host-1:8080/actuator/health"}}
            """;
        await SendAsync(HttpMethod.Post, "/eureka/apps/CART", Json(body), HttpStatusCode.NoContent);

        var native = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/cart/instances/host-1:cart:8080");
        Assert.Equal("10.4.0.1", native.GetProperty("address").GetString());
        Assert.Equal(8080, native.GetProperty("port").GetInt32());
        Assert.Equal("http", native.GetProperty("scheme").GetString());
        Assert.Equal(30, native.GetProperty("ttlSeconds").GetInt32());
        Assert.Equal("eu-1", native.GetProperty("zone").GetString());
        var metadata = native.GetProperty("metadata");
        Assert.Equal("9090", metadata.GetProperty("management.port").GetString());
        Assert.Equal("host-1", metadata.GetProperty("eureka-hostname").GetString());
        Assert.Equal("http://host-1:8080/actuator/health", metadata.GetProperty("eureka-health-check").GetString());
        Assert.False(metadata.TryGetProperty("@class", out _));
        Assert.False(metadata.TryGetProperty("eureka-home-page", out _)); // the one Roster would show anyway
        Assert.False(metadata.TryGetProperty("eureka-vip", out _));

        // What a Eureka client reads back is what it registered.
        var instance = (await GetJsonAsync("/eureka/apps/cart/host-1:cart:8080")).GetProperty("instance");
        Assert.Equal("CART", instance.GetProperty("app").GetString());
        Assert.Equal("host-1", instance.GetProperty("hostName").GetString());
        Assert.Equal("10.4.0.1", instance.GetProperty("ipAddr").GetString());
        Assert.Equal("UP", instance.GetProperty("status").GetString());
        Assert.Equal(8080, instance.GetProperty("port").GetProperty("$").GetInt32());
        Assert.Equal("true", instance.GetProperty("port").GetProperty("@enabled").GetString());
        Assert.Equal("false", instance.GetProperty("securePort").GetProperty("@enabled").GetString());
        Assert.Equal(30, instance.GetProperty("leaseInfo").GetProperty("durationInSecs").GetInt32());
        Assert.Equal("eu-1", instance.GetProperty("metadata").GetProperty("zone").GetString());
        Assert.Equal("9090", instance.GetProperty("metadata").GetProperty("management.port").GetString());
        Assert.False(instance.GetProperty("metadata").TryGetProperty("eureka-hostname", out _));
        Assert.Equal("http://host-1:8080/", instance.GetProperty("homePageUrl").GetString());
        Assert.Equal("http://host-1:8080/actuator/health", instance.GetProperty("healthCheckUrl").GetString());
        Assert.Equal("cart", instance.GetProperty("vipAddress").GetString());
    }

    [Fact]
    public async Task An_xml_registration_and_xml_reads_when_the_client_does_not_ask_for_json()
    {
        const string body = """
            <instance>
              <instanceId>pay-1</instanceId><hostName>10.4.1.1</hostName><app>PAYMENTS</app><ipAddr>10.4.1.1</ipAddr>
              <status>STARTING</status><overriddenstatus>UNKNOWN</overriddenstatus>
              <port enabled="false">8080</port><securePort enabled="true">8443</securePort>
              <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>
              <leaseInfo><durationInSecs>20</durationInSecs></leaseInfo>
              <metadata><team>billing</team></metadata>
              <vipAddress>payments-vip</vipAddress><secureVipAddress>payments-secure</secureVipAddress>
            </instance>
            """;
        await SendAsync(HttpMethod.Post, "/eureka/v2/apps/payments", new StringContent(body, Encoding.UTF8, "application/xml"), HttpStatusCode.NoContent);

        var native = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/payments/instances/pay-1");
        Assert.Equal("https", native.GetProperty("scheme").GetString());
        Assert.Equal(8443, native.GetProperty("port").GetInt32());
        Assert.Equal("STARTING", native.GetProperty("metadata").GetProperty("eureka-status").GetString());

        using var response = await _roster.Client.GetAsync(new Uri("/eureka/apps", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/xml", response.Content.Headers.ContentType?.MediaType);
        var applications = XElement.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("applications", applications.Name.LocalName);
        Assert.Equal("STARTING_1_", applications.Element("apps__hashcode")?.Value);
        var instance = applications.Element("application")!.Element("instance")!;
        Assert.Equal("PAYMENTS", applications.Element("application")!.Element("name")?.Value);
        Assert.Equal("STARTING", instance.Element("status")?.Value);
        Assert.Equal("8443", instance.Element("securePort")?.Value);
        Assert.Equal("true", instance.Element("securePort")?.Attribute("enabled")?.Value);
        Assert.Equal("false", instance.Element("port")?.Attribute("enabled")?.Value);
        Assert.Equal("billing", instance.Element("metadata")?.Element("team")?.Value);
        Assert.Equal("payments-vip", instance.Element("vipAddress")?.Value);

        // Consul clients see a Eureka instance that is not UP as critical.
        Assert.Equal("[]", await _roster.Client.GetStringAsync(new Uri("/v1/health/service/payments?passing", UriKind.Relative)));

        // The VIPs it registered find it, and only them.
        Assert.Single(await VipInstancesAsync("/eureka/vips/payments-vip"));
        Assert.Single(await VipInstancesAsync("/eureka/svips/payments-secure"));
        Assert.Empty(await VipInstancesAsync("/eureka/vips/payments-secure"));
        Assert.Equal("pay-1", (await GetJsonAsync("/eureka/v2/instances/pay-1")).GetProperty("instance").GetProperty("instanceId").GetString());
    }

    [Fact]
    public async Task A_status_override_is_a_drain_that_outlives_registration_and_the_delta_names_each_change()
    {
        await RegisterAsync("web-1", "10.4.2.1");
        await RegisterAsync("web-2", "10.4.2.2");
        using (var native = await _roster.RegisterAsync("prod", "web", "web-3", new { address = "10.4.2.3", port = 8080, ttlSeconds = 60 }))
        {
            Assert.Equal(HttpStatusCode.Created, native.StatusCode);
        }

        await SendAsync(HttpMethod.Put, "/eureka/apps/WEB/web-1/status?value=OUT_OF_SERVICE", null, HttpStatusCode.OK);
        Assert.True((await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-1")).GetProperty("drained").GetBoolean());

        // The client registers again (as the Java client does on any change of its own): the drain stays.
        await RegisterAsync("web-1", "10.4.2.1");
        Assert.Equal("OUT_OF_SERVICE", Status(await GetJsonAsync("/eureka/apps/WEB/web-1")));
        Assert.Equal("OUT_OF_SERVICE", (await GetJsonAsync("/eureka/apps/WEB/web-1")).GetProperty("instance").GetProperty("overriddenStatus").GetString());
        await SendAsync(HttpMethod.Delete, "/eureka/apps/WEB/web-2", null, HttpStatusCode.OK);

        var full = (await GetJsonAsync("/eureka/apps")).GetProperty("applications");
        Assert.Equal("OUT_OF_SERVICE_1_UP_1_", full.GetProperty("apps__hashcode").GetString());
        var delta = (await GetJsonAsync("/eureka/apps/delta")).GetProperty("applications");
        Assert.Equal(full.GetProperty("apps__hashcode").GetString(), delta.GetProperty("apps__hashcode").GetString());
        var actions = delta.GetProperty("application")[0].GetProperty("instance").EnumerateArray()
            .ToDictionary(i => i.GetProperty("instanceId").GetString()!, i => i.GetProperty("actionType").GetString());
        // web-1's last change was the drain (its identical registration after it changed nothing): MODIFIED.
        Assert.Equal(new Dictionary<string, string?> { ["web-1"] = "MODIFIED", ["web-2"] = "DELETED", ["web-3"] = "ADDED" }, actions);

        // Removing the override undrains it, a modification too.
        await SendAsync(HttpMethod.Delete, "/eureka/apps/WEB/web-1/status?value=UP", null, HttpStatusCode.OK);
        Assert.Equal("UP", Status(await GetJsonAsync("/eureka/apps/WEB/web-1")));
        var after = (await GetJsonAsync("/eureka/apps/delta")).GetProperty("applications").GetProperty("application")[0].GetProperty("instance")
            .EnumerateArray().Single(i => i.GetProperty("instanceId").GetString() == "web-1");
        Assert.Equal("MODIFIED", after.GetProperty("actionType").GetString());

        // Heartbeats renew; an unknown instance is 404, so the client registers again.
        await SendAsync(HttpMethod.Put, "/eureka/apps/WEB/web-1?status=UP&lastDirtyTimestamp=1700000000000", null, HttpStatusCode.OK);
        await SendAsync(HttpMethod.Put, "/eureka/apps/WEB/web-2", null, HttpStatusCode.NotFound);
        await SendAsync(HttpMethod.Delete, "/eureka/apps/WEB/web-2", null, HttpStatusCode.NotFound);
        await SendAsync(HttpMethod.Put, "/eureka/apps/WEB/web-2/status?value=OUT_OF_SERVICE", null, HttpStatusCode.NotFound);
        await SendAsync(HttpMethod.Get, "/eureka/apps/NOSUCH", null, HttpStatusCode.NotFound);

        // Metadata updates keep the incarnation.
        var incarnation = (await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-1")).GetProperty("incarnation").GetInt64();
        await SendAsync(HttpMethod.Put, "/eureka/apps/WEB/web-1/metadata?build=42", null, HttpStatusCode.OK);
        var updated = await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-1");
        Assert.Equal("42", updated.GetProperty("metadata").GetProperty("build").GetString());
        Assert.Equal(incarnation, updated.GetProperty("incarnation").GetInt64());
    }

    [Theory]
    [InlineData("/eureka/apps/CART", "not json", "could not be read")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 8080, "app": "OTHER"}}""", "app:")]
    [InlineData("/eureka/apps/MY_APP", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 8080}}""", "app:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"ipAddr": "10.0.0.1", "port": 8080}}""", "instanceId:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"instanceId": "c-1", "port": 8080}}""", "ipAddr:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 70000}}""", "port:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": {"$": 8080, "@enabled": "false"}}}""", "port:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 8080, "status": "SLEEPING"}}""", "status:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 8080, "leaseInfo": {"durationInSecs": 0}}}""", "leaseInfo.durationInSecs:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 8080, "leaseInfo": {"durationInSecs": 1}}}""", "leaseInfo.durationInSecs:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "10.0.0.1", "port": 8080, "metadata": {"eureka-status": "UP"}}}""", "metadata.eureka-status:")]
    [InlineData("/eureka/apps/CART", """{"instance": {"hostName": "h", "ipAddr": "not an address!", "port": 8080}}""", "ipAddr:")]
    public async Task Bad_registrations_answer_400_naming_the_field_and_change_nothing(string path, string body, string field)
    {
        var before = (await _roster.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64();
        using var response = await _roster.Client.PostAsync(new Uri(path, UriKind.Relative), Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, (await _roster.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task Xml_with_a_dtd_is_refused_and_nothing_is_resolved()
    {
        const string body = """<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY x SYSTEM "file:///etc/passwd">]><instance><hostName>&x;</hostName></instance>""";
        using var response = await _roster.Client.PostAsync(new Uri("/eureka/apps/CART", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/xml"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_status_override_other_than_a_drain_is_refused()
    {
        await RegisterAsync("web-9", "10.4.2.9");
        await SendAsync(HttpMethod.Put, "/eureka/apps/WEB/web-9/status?value=STARTING", null, HttpStatusCode.BadRequest);
        Assert.False((await _roster.GetJsonAsync("/api/v1/namespaces/prod/services/web/instances/web-9")).GetProperty("drained").GetBoolean());
    }

    [Fact]
    public async Task Tokens_are_read_from_bearer_or_basic_credentials_and_checked_against_the_namespace()
    {
        await using var guarded = await RosterTestServer.StartAsync(
            true, "--Roster:Eureka:Namespace=prod",
            "--Roster:Auth:Tokens:0:Token=prod-writer", "--Roster:Auth:Tokens:0:Namespaces:0=prod", "--Roster:Auth:Tokens:0:Write=true",
            "--Roster:Auth:Tokens:1:Token=prod-reader", "--Roster:Auth:Tokens:1:Namespaces:0=prod",
            "--Roster:Auth:Tokens:2:Token=billing-writer", "--Roster:Auth:Tokens:2:Namespaces:0=billing", "--Roster:Auth:Tokens:2:Write=true");
        const string body = """{"instance": {"instanceId": "a-1", "hostName": "10.5.0.1", "ipAddr": "10.5.0.1", "port": 8080}}""";

        foreach (var (authorization, status) in new (AuthenticationHeaderValue?, HttpStatusCode)[]
        {
            (null, HttpStatusCode.Unauthorized),
            (new("Bearer", "prod-reader"), HttpStatusCode.Forbidden),
            (new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("eureka:billing-writer"))), HttpStatusCode.Forbidden),
            (new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("eureka:prod-writer"))), HttpStatusCode.NoContent),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/eureka/apps/ACCOUNTS") { Content = Json(body) };
            request.Headers.Authorization = authorization;
            using var response = await guarded.Client.SendAsync(request);
            Assert.Equal(status, response.StatusCode);
        }

        using var read = new HttpRequestMessage(HttpMethod.Get, "/eureka/apps/ACCOUNTS");
        read.Headers.Authorization = new("Bearer", "prod-reader");
        read.Headers.Accept.ParseAdd("application/json");
        using var answer = await guarded.Client.SendAsync(read);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task The_full_registry_is_served_gzipped_to_clients_that_accept_it()
    {
        await RegisterAsync("gz-1", "10.4.3.1");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/eureka/apps");
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using var response = await _roster.Client.SendAsync(request);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        await using var gzip = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        using var document = await JsonDocument.ParseAsync(gzip);
        var application = document.RootElement.GetProperty("applications").GetProperty("application")[0];
        Assert.Equal("gz-1", application.GetProperty("instance")[0].GetProperty("instanceId").GetString());
    }

    [Fact]
    public async Task After_each_change_the_full_registry_is_the_same_document_plain_gzipped_and_in_xml()
    {
        foreach (var app in (string[])["ALPHA", "BETA", "GAMMA"])
        {
            await SendAsync(HttpMethod.Post, $"/eureka/apps/{app}", Json($$"""{"instance": {"instanceId": "{{app}}-1", "hostName": "10.7.0.1", "ipAddr": "10.7.0.1", "port": 8080} }"""), HttpStatusCode.NoContent);
        }

        foreach (var change in (string[])["/eureka/apps/BETA/BETA-1/status?value=OUT_OF_SERVICE", "/eureka/apps/DELTA", "/eureka/apps/ALPHA/ALPHA-1"])
        {
            var plain = await FetchAsync("application/json", gzip: false);
            Assert.Equal(plain, await FetchAsync("application/json", gzip: true));
            using var json = JsonDocument.Parse(plain);
            var names = json.RootElement.GetProperty("applications").GetProperty("application").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToList();
            var xml = XElement.Parse(Encoding.UTF8.GetString(await FetchAsync("application/xml", gzip: true)));
            Assert.Equal(names, xml.Elements("application").Select(a => a.Element("name")?.Value));
            Assert.Equal(
                json.RootElement.GetProperty("applications").GetProperty("apps__hashcode").GetString(),
                xml.Element("apps__hashcode")?.Value);

            if (change.EndsWith("DELTA", StringComparison.Ordinal))
            {
                await SendAsync(HttpMethod.Post, change, Json("""{"instance": {"instanceId": "DELTA-1", "hostName": "10.7.0.4", "ipAddr": "10.7.0.4", "port": 8080}}"""), HttpStatusCode.NoContent);
            }
            else
            {
                await SendAsync(change.Contains("status", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Delete, change, null, HttpStatusCode.OK);
            }
        }

        var last = (await GetJsonAsync("/eureka/apps")).GetProperty("applications");
        Assert.Equal(["BETA", "DELTA", "GAMMA"], last.GetProperty("application").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.Equal("OUT_OF_SERVICE_1_UP_2_", last.GetProperty("apps__hashcode").GetString());
    }

    private async Task<byte[]> FetchAsync(string accept, bool gzip)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/eureka/apps");
        request.Headers.Accept.ParseAdd(accept);
        if (gzip)
        {
            request.Headers.AcceptEncoding.ParseAdd("gzip");
        }

        using var response = await _roster.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!gzip)
        {
            Assert.Empty(response.Content.Headers.ContentEncoding);
            return body;
        }

        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        await using var unzip = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
        using var plain = new MemoryStream();
        await unzip.CopyToAsync(plain);
        return plain.ToArray();
    }

    private static string? Status(JsonElement instance) => instance.GetProperty("instance").GetProperty("status").GetString();

    private async Task RegisterAsync(string id, string address) =>
        await SendAsync(HttpMethod.Post, "/eureka/apps/WEB", Json($$$"""
            {"instance": {"instanceId": "{{{id}}}", "hostName": "{{{address}}}", "app": "WEB", "ipAddr": "{{{address}}}",
             "port": {"$": 8080, "@enabled": "true"}, "vipAddress": "web",
             "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}} }
            """), HttpStatusCode.NoContent);

    private async Task<List<XElement>> VipInstancesAsync(string path)
    {
        var applications = XElement.Parse(await _roster.Client.GetStringAsync(new Uri(path, UriKind.Relative)));
        return [.. applications.Elements("application").SelectMany(a => a.Elements("instance"))];
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await _roster.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent? content, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await _roster.Client.SendAsync(request);
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
