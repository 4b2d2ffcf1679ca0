using System.Text.Json;
using CsCheck;
using Xunit.Abstractions;

namespace Roster.Server.Tests.Api;

/// <summary>
/// Generated requests against the Eureka and Consul APIs: mutated registrations (Eureka's in JSON and XML, Consul's
/// service definitions), heartbeats, check updates, status overrides, reads with odd queries and headers. Every answer
/// is a 2xx, or a 4xx with a text saying what was wrong (the error shape those clients expect), never a 5xx; and the
/// registry's revision moves only on a 2xx. The node's clock stands still, so nothing expires between two requests.
/// </summary>
public sealed class CompatApiFuzzTests(ITestOutputHelper output)
{
    private const int Requests = 4_000;

    private static readonly Gen<string> Name = Gen.Frequency(
        (10, Gen.OneOf("orders", "ORDERS", "web", "a1", "a2", "host-1:orders:8080", "Payments")),
        (2, Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyzABC0123456789-_.:"], 1, 20]),
        (1, Gen.OneOf("", " ", "..", "a b", "%2F", "é", "<x>", new string('a', 300))));

    private static readonly Gen<string> JsonScalar = Gen.OneOf(
        Gen.OneOf("null", "true", "false", "0", "-1", "1e308", "65536", "8080", "\"8080\"", "\"\"", "[]", "{}", "\"x\"", "{\"$\":8080}",
            "{\"$\":\"80\",\"@enabled\":\"false\"}", "{\"$\":null}", "{\"k\":\"v\"}", "{\"@class\":\"x\"}", "{\"durationInSecs\":\"5\"}"),
        Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String.Select(s => JsonSerializer.Serialize(s)));

    private static readonly string[] EurekaFields =
    [
        "instanceId", "hostName", "app", "ipAddr", "status", "port", "securePort", "leaseInfo", "metadata", "vipAddress",
        "secureVipAddress", "homePageUrl", "healthCheckUrl", "dataCenterInfo", "overriddenstatus",
    ];

    private static readonly string[] ConsulFields = ["ID", "Name", "Address", "Port", "Tags", "Meta", "Weights", "Check", "Checks", "Kind"];

    private static readonly Gen<string?> EurekaJson = Gen.Select(Gen.OneOf(EurekaFields), JsonScalar).Array[0, 3].Select(fields =>
    {
        var body = new Dictionary<string, string>
        {
            ["instanceId"] = "\"a1\"", ["hostName"] = "\"host-1\"", ["app"] = "\"ORDERS\"", ["ipAddr"] = "\"10.0.0.1\"",
            ["port"] = "{\"$\":8080,\"@enabled\":\"true\"}", ["leaseInfo"] = "{\"durationInSecs\":30}",
        };
        foreach (var (key, value) in fields)
        {
            body[key] = value;
        }

        return (string?)("{\"instance\":{" + string.Join(',', body.Select(f => $"\"{f.Key}\":{f.Value}")) + "}}");
    });

    private static readonly Gen<string?> EurekaXml = Gen.Select(Gen.OneOf(EurekaFields), Gen.OneOf("", "x", "8080", "-1", "<a/>", "&amp;", "UP", "SLEEPING"), Gen.Bool,
        (field, value, enabled) => (string?)$"""
            <instance><instanceId>a2</instanceId><hostName>10.0.0.2</hostName><ipAddr>10.0.0.2</ipAddr>
            <port enabled="{(enabled ? "true" : "false")}">8080</port><{field}>{value}</{field}></instance>
            """);

    private static readonly Gen<string?> ConsulJson = Gen.Select(Gen.OneOf(ConsulFields), JsonScalar).Array[0, 3].Select(fields =>
    {
        var body = new Dictionary<string, string>
        {
            ["ID"] = "\"a1\"", ["Name"] = "\"orders\"", ["Address"] = "\"10.0.0.1\"", ["Port"] = "8080", ["Check"] = "{\"TTL\":\"30s\"}",
        };
        foreach (var (key, value) in fields)
        {
            body[key] = value;
        }

        return (string?)("{" + string.Join(',', body.Select(f => $"\"{f.Key}\":{f.Value}")) + "}");
    });

    private static readonly Gen<string?> Body = Gen.Frequency(
        (1, Gen.Const((string?)null)),
        (4, EurekaJson),
        (2, EurekaXml),
        (4, ConsulJson),
        (1, Gen.OneOf<string?>("", "{", "<instance>", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><instance>&e;</instance>", "nul", "[]")),
        (1, Gen.String.Select(s => (string?)s)));

    private static readonly Gen<string> Prefix = Gen.OneOf("/eureka", "/eureka/v2");

    private static readonly Gen<string> Query = Gen.OneOf(
        "", "", "?value=OUT_OF_SERVICE", "?value=UP", "?value=DOWN", "?value=STARTING", "?value=", "?status=UP&lastDirtyTimestamp=1",
        "?build=1", "?eureka-status=UP", "?zone=eu", "?zone=", "?index=1&wait=10ms", "?index=abc", "?wait=5x", "?passing", "?index=-1");

    private static readonly Gen<(HttpMethod Method, string Path)> Target = Gen.Frequency(
        (4, Gen.Select(Prefix, Name, (prefix, app) => (HttpMethod.Post, $"{prefix}/apps/{Uri.EscapeDataString(app)}"))),
        (3, Gen.Select(Gen.OneOf(HttpMethod.Put, HttpMethod.Delete, HttpMethod.Get), Prefix, Name, Name, Query,
            (method, prefix, app, id, query) => (method, $"{prefix}/apps/{Uri.EscapeDataString(app)}/{Uri.EscapeDataString(id)}{query}"))),
        (2, Gen.Select(Gen.OneOf(HttpMethod.Put, HttpMethod.Delete), Prefix, Name, Name, Gen.OneOf("status", "metadata"), Query,
            (method, prefix, app, id, what, query) => (method, $"{prefix}/apps/{Uri.EscapeDataString(app)}/{Uri.EscapeDataString(id)}/{what}{query}"))),
        (2, Gen.Select(Prefix, Gen.OneOf("/apps", "/apps/delta", "/apps/ORDERS", "/instances/a1", "/vips/orders", "/svips/orders", "/vips/"), Query,
            (prefix, path, query) => (HttpMethod.Get, prefix + path + query))),
        (4, Gen.Const((HttpMethod.Put, "/v1/agent/service/register"))),
        (3, Gen.Select(Gen.OneOf("pass", "warn", "fail", "explode"), Name, Gen.OneOf("service:", "", "service:x:"),
            (verb, id, prefix) => (HttpMethod.Put, $"/v1/agent/check/{verb}/{Uri.EscapeDataString(prefix + id)}"))),
        (1, Name.Select(id => (HttpMethod.Put, $"/v1/agent/service/deregister/{Uri.EscapeDataString(id)}"))),
        (2, Gen.Select(Gen.OneOf("/v1/catalog/services", "/v1/catalog/service/orders", "/v1/health/service/orders", "/v1/agent/services", "/v1/status/leader", "/v1/agent/self"), Query,
            (path, query) => (HttpMethod.Get, path + query))));

    private static readonly Gen<string?> ContentType = Gen.Frequency(
        (6, Gen.Const((string?)"application/json")),
        (3, Gen.Const((string?)"application/xml")),
        (1, Gen.OneOf<string?>("text/plain", null, "application/json; charset=latin1")));

    private static readonly Gen<(string Name, string Value)[]> Headers = Gen.OneOf(
        ("Authorization", "Bearer guess"), ("Authorization", "Basic !!!"), ("Authorization", "Basic " + Convert.ToBase64String("user:guess"u8.ToArray())),
        ("X-Consul-Token", "guess"), ("Accept", "application/json"), ("Accept", "application/xml"), ("Accept-Encoding", "gzip"), ("X-Whatever", "1"))
        .Array[0, 2];

    private static readonly Gen<FuzzRequest> Request = Gen.Select(Target, Body, ContentType, Headers,
        (target, body, contentType, headers) => new FuzzRequest(target.Method, target.Path, body, contentType, headers));

    [Fact]
    public async Task GeneratedEurekaAndConsulRequests_AreAnswered2xxOr4xxTexts_AndOnlyA2xxChangesTheRegistry()
    {
        var time = new ManualTimeProvider();
        await using var server = await RosterTestServer.StartAsync(true, time, "--Roster:Eureka:Namespace=prod", "--Roster:Consul:Namespace=prod");
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };
        var answered = await GeneratedRequests.RunAsync(Request, Requests, client, CheckSaysWhyAsync, output.WriteLine);
        Assert.True(answered.Where(a => a.Key is >= 200 and < 300).Sum(a => a.Value) > Requests / 10, "enough requests were accepted to change the registry");
        Assert.True(answered.Where(a => a.Key is >= 400 and < 500).Sum(a => a.Value) > Requests / 10, "enough requests were refused");
    }

    /// <summary>A 4xx must say why, in any shape (Eureka's and Consul's clients read a status and a text).</summary>
    private static async Task<string?> CheckSaysWhyAsync(FuzzRequest fuzz, HttpResponseMessage response) =>
        (int)response.StatusCode >= 400 && (await response.Content.ReadAsStringAsync()).Trim().Length == 0
            ? $"answered {(int)response.StatusCode} without saying why"
            : null;
}
