using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>
/// Admission control: with requests held in flight near the node's bound, new registrations are turned away first
/// (503 with Retry-After, a problem), then other changes, while renewals, reads, watches and health keep being answered;
/// once the load is gone, registrations are taken again.
/// </summary>
public sealed class AdmissionTests
{
    [Fact]
    public async Task NearItsBound_TheNodeShedsRegistrationsFirst_AndKeepsRenewalsReadsWatchesAndHealth()
    {
        await using var server = await RosterTestServer.StartAsync(true, "--Roster:Admission:MaxConcurrentRequests=8");
        using (var first = await server.RegisterAsync("prod", "orders", "a1", new { address = "10.0.0.1", port = 80 }))
        {
            first.EnsureSuccessStatusCode();
        }

        // Six renewals whose bodies do not finish: six of eight requests in flight.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = Enumerable.Range(0, 6).Select(_ => server.Client.PostAsync(
            new Uri("/api/v1/leases/renew", UriKind.Relative), new SlowBody(release.Task))).ToList();
        await Eventually.TrueAsync(async () => (await server.GetJsonAsync("/api/v1/debug")).GetProperty("requestsInFlight").GetInt32() == 6, "six requests are in flight");

        using (var registration = await server.RegisterAsync("prod", "orders", "a2", new { address = "10.0.0.2", port = 80 }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, registration.StatusCode);
            Assert.NotNull(registration.Headers.RetryAfter?.Delta);
            Assert.Equal("application/problem+json", registration.Content.Headers.ContentType?.MediaType);
            Assert.EndsWith("overloaded", (await registration.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString(), StringComparison.Ordinal);
        }

        using (var drain = await server.Client.PatchAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a1", UriKind.Relative), RosterTestServer.Json(new { drained = true })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, drain.StatusCode);
        }

        using (var renewal = await server.Client.PostAsync(new Uri("/api/v1/leases/renew", UriKind.Relative),
            RosterTestServer.Json(new { leases = new[] { new { @namespace = "prod", service = "orders", id = "a1", incarnation = 1 } } })))
        {
            Assert.Equal(HttpStatusCode.OK, renewal.StatusCode);
        }

        Assert.Equal(1, (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        using (var watch = await server.Client.GetAsync(new Uri("/api/v1/namespaces/prod/watch", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        }

        var metrics = await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("\nroster_requests_shed_total 2\n", metrics, StringComparison.Ordinal);

        // The load goes: registrations are taken again.
        release.SetResult();
        foreach (var renewal in held)
        {
            using var answered = await renewal;
        }

        using var later = await server.RegisterAsync("prod", "orders", "a2", new { address = "10.0.0.2", port = 80 });
        Assert.Equal(HttpStatusCode.Created, later.StatusCode);
    }

    [Fact]
    public async Task TheEurekaAndConsulApis_AreWeighedAsTheNativeOnes()
    {
        await using var server = await RosterTestServer.StartAsync(true, "--Roster:Admission:MaxConcurrentRequests=8", "--Roster:Eureka:Namespace=prod", "--Roster:Consul:Namespace=prod");
        using (var first = await server.RegisterAsync("prod", "orders", "a1", new { address = "10.0.0.1", port = 80, ttlSeconds = 60 }))
        {
            first.EnsureSuccessStatusCode();
        }

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = Enumerable.Range(0, 6).Select(_ => server.Client.PostAsync(
            new Uri("/api/v1/leases/renew", UriKind.Relative), new SlowBody(release.Task))).ToList();
        await Eventually.TrueAsync(async () => (await server.GetJsonAsync("/api/v1/debug")).GetProperty("requestsInFlight").GetInt32() == 6, "six requests are in flight");

        // Registrations are turned away, whichever API they come through.
        const string eureka = """{"instance": {"instanceId": "a2", "hostName": "10.0.0.2", "ipAddr": "10.0.0.2", "port": 80}}""";
        using (var registration = await server.Client.PostAsync(new Uri("/eureka/apps/ORDERS", UriKind.Relative), new StringContent(eureka, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, registration.StatusCode);
            Assert.NotNull(registration.Headers.RetryAfter?.Delta);
        }

        using (var registration = await server.Client.PutAsync(new Uri("/v1/agent/service/register", UriKind.Relative), RosterTestServer.Json(new { Name = "orders", ID = "a3", Address = "10.0.0.3", Port = 80 })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, registration.StatusCode);
        }

        // Heartbeats, fetches and blocking queries are answered.
        using (var heartbeat = await server.Client.PutAsync(new Uri("/eureka/apps/ORDERS/a1", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
        }

        using (var fetch = await server.Client.GetAsync(new Uri("/eureka/apps", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, fetch.StatusCode);
        }

        using (var query = await server.Client.GetAsync(new Uri("/v1/health/service/orders?index=1&wait=10ms", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        }

        release.SetResult();
        foreach (var renewal in held)
        {
            using var answered = await renewal;
        }

        using var later = await server.Client.PostAsync(new Uri("/eureka/apps/ORDERS", UriKind.Relative), new StringContent(eureka, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, later.StatusCode);
    }

    /// <summary>A JSON body whose first byte is sent at once and the rest only when the given task completes.</summary>
    private sealed class SlowBody : HttpContent
    {
        private readonly Task _release;

        public SlowBody(Task release)
        {
            _release = release;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync("{"u8.ToArray());
            await stream.FlushAsync();
            await _release;
            await stream.WriteAsync(Encoding.UTF8.GetBytes("\"leases\":[]}"));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
