using System.Text.Json;
using CsCheck;
using Xunit.Abstractions;

namespace Roster.Server.Tests.Api;

/// <summary>
/// Generated requests against every endpoint: random and mutated JSON bodies, names, query strings and headers. Every
/// answer is a 2xx, or a 4xx RFC 7807 problem naming what was wrong; never a 5xx; and the registry's revision moves
/// only on a 2xx. The node's clock stands still, so nothing expires between two requests. CsCheck prints the seed
/// of a failing run, and <c>CsCheck_Seed=...</c> replays it.
/// </summary>
public sealed class ApiFuzzTests(ITestOutputHelper output)
{
    private const int Requests = 10_000;

    // Names the node accepts (most of the time, so requests reach the registry), and ones it must refuse without a fuss.
    private static readonly Gen<string> ValidName = Gen.OneOf("prod", "orders", "a1", "a2", "10.0.0.5:8080", "payments-v2", "x");

    private static readonly Gen<string> Name = Gen.Frequency(
        (12, ValidName),
        (2, Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-_.:"], 1, 20]),
        (1, Gen.OneOf("", " ", "..", "UPPER", "a b", "a/b", "%2F", "%00", "é", "名前", "<script>", new string('a', 300), "a\u0000b")),
        (1, Gen.String));

    private static readonly Gen<string> JsonScalar = Gen.OneOf(
        Gen.OneOf("null", "true", "false", "0", "-1", "1e308", "-0", "9223372036854775808", "1.5", "\"\"", "[]", "{}", "\"x\"", "{\"k\":\"v\"}"),
        Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Int[0, 200].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Long.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String.Select(s => JsonSerializer.Serialize(s)));

    private static readonly string[] Fields =
    [
        "address", "port", "scheme", "zone", "version", "weight", "metadata", "ttlSeconds", "persistent", "incarnation",
        "drained", "disabled", "leases", "namespace", "service", "id", "check", "checks", "healthCheck", "unknown",
    ];

    private static readonly Gen<(string Name, string Value)> Field = Gen.Select(Gen.OneOf(Fields), JsonScalar);

    // A body: a valid registration with fields replaced by random values, operator state, a renewal, or something
    // that is not one.
    private static readonly Gen<string?> Body = Gen.Frequency(
        (1, Gen.Const((string?)null)),
        (6, Field.Array[0, 3].Select(fields => (string?)MutatedRegistration(fields))),
        (3, Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[-5, 300], Gen.Int[0, 3], (drained, disabled, weight, which) => (string?)(which switch
        {
            0 => $"{{\"drained\":{(drained ? "true" : "false")}}}",
            1 => $"{{\"disabled\":{(disabled ? "true" : "false")}}}",
            2 => $"{{\"weight\":{weight}}}",
            _ => "{\"weight\":null}",
        }))),
        (2, Gen.Select(Name, Name, Name, Gen.Long[0, 50], (ns, service, id, incarnation) => (string?)JsonSerializer.Serialize(
            new { leases = new[] { new { @namespace = ns, service, id, incarnation } } }))),
        (2, Field.Array[0, 6].Select(fields => (string?)("{" + string.Join(',', fields.Select(f => $"\"{f.Name}\":{f.Value}")) + "}"))),
        (1, Gen.OneOf<string?>("", "{", "[", "nul", "{\"address\":", "{\"metadata\":{\"k\":{}}}", "{\"metadata\":{\"\":\"v\"}}",
            "{\"weight\":-1}", "{\"port\":0}", "{\"port\":65536}", "{\"ttlSeconds\":0}", "{\"leases\":[null]}", "{\"leases\":{}}")),
        (1, Gen.String.Select(s => (string?)s)));

    // Requests shaped like each endpoint's (so most reach the handler), and any method on any path.
    private static readonly Gen<(HttpMethod Method, string Path)> Target = Gen.Frequency(
        (10, Gen.Select(Gen.OneOf(HttpMethod.Put, HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete, HttpMethod.Get), Name, Name, Name, Gen.OneOf("", "", "", "?incarnation=-1", "?incarnation=x", "?incarnation=1"),
            (method, ns, service, id, query) => (method, $"/api/v1/namespaces/{Escape(ns)}/services/{Escape(service)}/instances/{Escape(id)}{query}"))),
        (2, Gen.Const((HttpMethod.Post, "/api/v1/leases/renew"))),
        (2, Gen.Select(Name, Name, Gen.OneOf("", "/watchers", "/leases", "/leases?id=a1", "/leases?id="), (ns, service, tail) => (HttpMethod.Get, $"/api/v1/namespaces/{Escape(ns)}/services/{Escape(service)}{tail}"))),
        (1, Name.Select(ns => (HttpMethod.Get, $"/api/v1/namespaces/{Escape(ns)}/services"))),
        (1, Gen.Select(Name, Gen.OneOf("since=-1", "since=abc", "since=99999999999", "service=&since=", "since=1.5"), (ns, query) => (HttpMethod.Get, $"/api/v1/namespaces/{Escape(ns)}/watch?{query}"))),
        (1, Gen.Select(Name, Name, Gen.OneOf("", "-1", "0", "abc", "10001", "5"), (ns, service, number) =>
            (HttpMethod.Get, $"/api/v1/audit?namespace={Uri.EscapeDataString(ns)}&service={Uri.EscapeDataString(service)}&since={number}&limit={number}"))),
        (1, Gen.Select(Name, Name, Gen.OneOf("namespace={0}", "namespace={0}&service={1}", "service={1}", "", "namespace="), (ns, service, query) =>
            (HttpMethod.Get, "/api/v1/prometheus/targets?" + string.Format(System.Globalization.CultureInfo.InvariantCulture, query, Uri.EscapeDataString(ns), Uri.EscapeDataString(service))))),
        (2, Gen.Select(
            Gen.OneOf(HttpMethod.Get, HttpMethod.Put, HttpMethod.Post, HttpMethod.Patch, HttpMethod.Delete, HttpMethod.Head, HttpMethod.Options),
            Gen.OneOf("/api/v1/namespaces", "/api/v1/leases/renew", "/api/v1/status", "/api/v1/cluster", "/healthz", "/readyz", "/metrics", "/", "/ui/app.js",
                "/api/v1/nothing", "/api/v2/namespaces", "/api/v1/namespaces/prod/services/orders/instances", "/api/v1/audit", "/api/v1/prometheus/targets"),
            (method, path) => (method, path))));

    private static readonly Gen<string?> ContentType = Gen.Frequency(
        (8, Gen.Const((string?)"application/json")),
        (1, Gen.OneOf<string?>("application/json; charset=utf-8", "text/plain", "application/xml", null, "application/json; charset=latin1")));

    private static readonly Gen<(string Name, string Value)[]> Headers = Gen.OneOf(
        ("Authorization", "Bearer guess"), ("Authorization", "Basic abc"), ("Last-Event-ID", "-5"), ("Last-Event-ID", "abc"),
        ("Accept-Encoding", "gzip"), ("Sec-Fetch-Site", "cross-site"), ("Accept", "text/event-stream"), ("X-Whatever", "1"))
        .Array[0, 2];

    private static readonly Gen<FuzzRequest> Request = Gen.Select(Target, Body, ContentType, Headers,
        (target, body, contentType, headers) => new FuzzRequest(target.Method, target.Path, body, contentType, headers));

    [Fact]
    public async Task GeneratedRequests_AreAnswered2xxOr4xxProblems_AndOnlyA2xxChangesTheRegistry()
    {
        var time = new ManualTimeProvider();
        await using var server = await RosterTestServer.StartAsync(true, time);
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };
        var answered = await GeneratedRequests.RunAsync(Request, Requests, client, CheckProblemAsync, output.WriteLine);
        Assert.True(answered.Where(a => a.Key is >= 200 and < 300).Sum(a => a.Value) > Requests / 20, "enough requests were accepted to change the registry");
        Assert.True(answered.Where(a => a.Key is >= 400 and < 500).Sum(a => a.Value) > Requests / 5, "enough requests were refused");
    }

    /// <summary>A 4xx must be an RFC 7807 problem.</summary>
    private static async Task<string?> CheckProblemAsync(FuzzRequest fuzz, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status < 400 || fuzz.Method == HttpMethod.Head)
        {
            return null;
        }

        var type = response.Content.Headers.ContentType?.MediaType;
        var text = await response.Content.ReadAsStringAsync();

        // Kestrel itself refuses a request target holding an encoded NUL with a bare 400, before any of the node's
        // code runs (nothing to change, nothing the node could answer with): the one 4xx without a problem.
        var refusedByKestrel = status == 400 && text.Length == 0 && fuzz.Path.Contains("%00", StringComparison.Ordinal);
        return !refusedByKestrel && (type != "application/problem+json" || !IsProblem(text))
            ? $"answered {status} without a problem ({type}): {text}"
            : null;
    }

    private static bool IsProblem(string text)
    {
        try
        {
            using var problem = JsonDocument.Parse(text);
            return problem.RootElement.TryGetProperty("title", out _) && problem.RootElement.TryGetProperty("status", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string MutatedRegistration((string Name, string Value)[] fields)
    {
        var body = new Dictionary<string, string> { ["address"] = "\"10.0.0.1\"", ["port"] = "8080", ["persistent"] = "true" };
        foreach (var (key, value) in fields)
        {
            body[key] = value;
        }

        return "{" + string.Join(',', body.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);
}
