using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Compat.Tests;

/// <summary>
/// A real Prometheus server (Debian's 2.42) discovers its scrape targets from Roster through <c>http_sd_configs</c>:
/// every registered instance with its labels, drained ones labelled as such, and a deregistered one dropped. Roster's
/// own <c>/metrics</c> is one of the instances, so Prometheus scrapes it for real.
/// </summary>
public sealed class PrometheusDiscoveryTests : IAsyncLifetime
{
    private RosterTestServer _roster = null!;

    public async Task InitializeAsync() => _roster = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync() => await _roster.DisposeAsync();

    [Fact]
    public async Task Prometheus_scrapes_every_registered_instance_sees_drains_and_drops_a_deregistered_one()
    {
        var port = _roster.Address.Port;
        await RegisterAsync("orders", "a1", new { address = "127.0.0.1", port, zone = "eu-1a", version = "1.4.2", metadata = new Dictionary<string, string> { ["team"] = "checkout", ["build.id"] = "42" } });
        await RegisterAsync("orders", "a2", new { address = "127.0.0.1", port = 1, zone = "eu-1b", version = "1.4.2" });
        await RegisterAsync("payments", "p1", new { address = "127.0.0.1", port = 2, version = "2.0.0" });
        using (var drain = await _roster.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a2", UriKind.Relative), RosterTestServer.Json(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        }

        await using var prometheus = await PrometheusProcess.StartAsync($"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: roster
                http_sd_configs:
                  - url: http://127.0.0.1:{port}/api/v1/prometheus/targets?namespace=prod
                    refresh_interval: 1s
                relabel_configs:
                  - source_labels: [__meta_roster_service]
                    target_label: service
                  - source_labels: [__meta_roster_drained]
                    target_label: drained
            """);

        // Prometheus hands discovered targets to its scrapers at most every 5 s.
        IReadOnlyList<Target> targets = [];
        await Eventually.TrueAsync(async () => (targets = await ActiveTargetsAsync(prometheus)).Count == 3, "Prometheus lists the three instances", TimeSpan.FromSeconds(30));
        var a1 = targets.Single(t => t.Discovered["__meta_roster_instance_id"] == "a1");
        Assert.Equal($"127.0.0.1:{port}", a1.Discovered["__address__"]);
        Assert.Equal("prod", a1.Discovered["__meta_roster_namespace"]);
        Assert.Equal("eu-1a", a1.Discovered["__meta_roster_zone"]);
        Assert.Equal("1.4.2", a1.Discovered["__meta_roster_version"]);
        Assert.Equal("checkout", a1.Discovered["__meta_roster_metadata_team"]);
        Assert.Equal("42", a1.Discovered["__meta_roster_metadata_build_id"]);
        Assert.Equal("orders", a1.Labels["service"]);
        Assert.Equal("false", a1.Labels["drained"]);
        Assert.Equal("true", targets.Single(t => t.Discovered["__meta_roster_instance_id"] == "a2").Labels["drained"]);
        Assert.Equal("payments", targets.Single(t => t.Discovered["__meta_roster_instance_id"] == "p1").Labels["service"]);

        // The instance that is Roster itself is scraped for real.
        await Eventually.TrueAsync(async () => (await ActiveTargetsAsync(prometheus)).Any(t => t.Discovered["__meta_roster_instance_id"] == "a1" && t.Health == "up"), "Prometheus scraped Roster's /metrics", TimeSpan.FromSeconds(30));

        using (var deregistered = await _roster.Client.DeleteAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a2", UriKind.Relative)))
        {
            Assert.True(deregistered.IsSuccessStatusCode);
        }

        await Eventually.TrueAsync(async () => (targets = await ActiveTargetsAsync(prometheus)).Count == 2, "Prometheus drops the deregistered instance", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(targets, t => t.Discovered["__meta_roster_instance_id"] == "a2");
    }

    [Fact]
    public async Task The_target_list_is_what_http_sd_expects_and_bad_queries_are_problems_naming_the_field()
    {
        await RegisterAsync("orders", "a1", new { address = "fd00::1", port = 8443, scheme = "https" });

        using var response = await _roster.Client.GetAsync(new Uri("/api/v1/prometheus/targets?namespace=prod&service=orders", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var group = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Single();
        Assert.Equal("[fd00::1]:8443", group.GetProperty("targets").EnumerateArray().Single().GetString());
        Assert.Equal("https", group.GetProperty("labels").GetProperty("__scheme__").GetString());

        Assert.Equal("[]", await _roster.Client.GetStringAsync(new Uri("/api/v1/prometheus/targets?namespace=nothing-here", UriKind.Relative)));
        foreach (var (query, field) in new[] { ("namespace=Bad_Name", "namespace"), ("namespace=prod&service=no/such", "service"), ("service=orders", "namespace") })
        {
            using var refused = await _roster.Client.GetAsync(new Uri("/api/v1/prometheus/targets?" + query, UriKind.Relative));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(field, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task A_token_reads_the_targets_of_its_namespaces_only()
    {
        await using var guarded = await RosterTestServer.StartAsync(
            true, "--Roster:Auth:Tokens:0:Token=prometheus-reader", "--Roster:Auth:Tokens:0:Namespaces:0=prod");

        using var anonymous = await guarded.Client.GetAsync(new Uri("/api/v1/prometheus/targets?namespace=prod", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        foreach (var (query, status) in new[] { ("namespace=prod", HttpStatusCode.OK), ("namespace=billing", HttpStatusCode.Forbidden) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/prometheus/targets?" + query);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "prometheus-reader");
            using var answer = await guarded.Client.SendAsync(request);
            Assert.Equal(status, answer.StatusCode);
        }
    }

    private async Task RegisterAsync(string service, string id, object body)
    {
        using var response = await _roster.RegisterAsync("prod", service, id, body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<IReadOnlyList<Target>> ActiveTargetsAsync(PrometheusProcess prometheus)
    {
        var answer = await prometheus.Client.GetFromJsonAsync<JsonElement>("/api/v1/targets?state=active");
        return answer.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => new Target(
                t.GetProperty("discoveredLabels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                t.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                t.GetProperty("health").GetString()!))
            .ToList();
    }

    private sealed record Target(Dictionary<string, string> Discovered, Dictionary<string, string> Labels, string Health);
}
