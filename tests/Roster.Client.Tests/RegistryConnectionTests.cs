using System.Net;
using System.Net.Http.Headers;
using Roster.Client.Connection;

namespace Roster.Client.Tests;

public sealed class RegistryConnectionTests
{
    private static readonly Uri NodeA = new("http://node-a:8080");
    private static readonly Uri NodeB = new("http://node-b:8080");

    private static RosterClientOptions Options(params Uri[] servers)
    {
        var options = new RosterClientOptions { Token = "secret" };
        foreach (var server in servers)
        {
            options.Servers.Add(server);
        }

        return options;
    }

    private static LeaseRenewal[] OneLease => [new("prod", "orders", "a", 7)];

    private static HttpResponseMessage RenewedOk() => ScriptedHandler.Status(HttpStatusCode.OK, """{"ok":1,"unknown":0,"staleIncarnation":0,"results":["ok"]}""");

    [Fact]
    public async Task A_refused_node_is_skipped_at_once_and_the_answering_node_is_tried_first_next_time()
    {
        var handler = new ScriptedHandler((request, _) => request.RequestUri!.Host == "node-a" ? null : RenewedOk());
        using var client = new RosterClient(Options(NodeA, NodeB), handler, new SteppedTimeProvider());

        Assert.Equal([RenewalResult.Ok], await client.RenewAsync(OneLease));
        Assert.Equal([RenewalResult.Ok], await client.RenewAsync(OneLease));

        Assert.Equal(["node-a:8080", "node-b:8080", "node-b:8080"], handler.Requests.Select(r => r.Node));
        Assert.All(handler.Requests, r => Assert.Equal("Bearer secret", r.Authorization));
    }

    [Fact]
    public async Task Retry_after_on_503_is_honoured_and_spread_over_as_long_again_before_the_node_is_called_again()
    {
        var time = new SteppedTimeProvider();
        var handler = new ScriptedHandler((_, n) =>
        {
            if (n > 0)
            {
                return RenewedOk();
            }

            var busy = ScriptedHandler.Status(HttpStatusCode.ServiceUnavailable, """{"title":"Not ready","status":503}""", "application/problem+json");
            busy.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(2));
            return busy;
        });
        // The random draw puts this caller halfway through the window: 2 s asked, 3 s waited.
        using var client = new RosterClient(new RegistryConnection(Options(NodeA), handler, time, random: () => 0.5));

        var renewal = client.RenewAsync(OneLease);
        // The call deadline and the wait are the two timers once the call is waiting.
        await Eventually.TrueAsync(() => time.PendingTimers == 2, "the call waits");
        time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.False(renewal.IsCompleted);
        Assert.Single(handler.Requests);

        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal([RenewalResult.Ok], await renewal.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public void A_fleet_turned_away_together_comes_back_spread_over_the_window_it_was_given()
    {
        var random = new Random(20261203);
        var returns = Enumerable.Range(0, 5000).Select(_ => RetryAfter.Spread(TimeSpan.FromSeconds(2), random.NextDouble())).ToList();

        Assert.All(returns, r => Assert.InRange(r, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)));
        // Every tenth of the window gets about a tenth of the fleet: nobody waits for the same instant.
        var perSlice = returns.GroupBy(r => (int)((r.TotalSeconds - 2) * 5)).Select(g => g.Count()).ToList();
        Assert.Equal(10, perSlice.Count);
        Assert.All(perSlice, count => Assert.InRange(count, 400, 600));
    }

    [Fact]
    public async Task A_cluster_node_without_its_bus_is_skipped_for_writes_only()
    {
        // Node A cannot reach its message bus: it refuses changes (503 bus-unavailable) but renews and reads.
        var handler = new ScriptedHandler((request, _) =>
        {
            if (request.RequestUri!.Host == "node-a" && request.Method == HttpMethod.Put)
            {
                var refused = ScriptedHandler.Status(
                    HttpStatusCode.ServiceUnavailable,
                    """{"type":"https://roster.dev/problems/bus-unavailable","title":"Message bus unavailable","status":503}""",
                    "application/problem+json");
                refused.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(30));
                return refused;
            }

            if (request.RequestUri!.Host == "node-b" && request.Method != HttpMethod.Put)
            {
                return null; // B is gone for this renewal: it must go to A, which still renews.
            }

            return request.Method == HttpMethod.Put
                ? ScriptedHandler.Status(HttpStatusCode.Created, """{"namespace":"prod","service":"orders","id":"a","address":"10.0.0.1","port":80,"incarnation":9,"revision":9}""")
                : RenewedOk();
        });
        using var client = new RosterClient(Options(NodeA, NodeB), handler, new SteppedTimeProvider());

        await client.RegisterAsync(new InstanceRegistration("prod", "orders", "a", "10.0.0.1", 80));
        Assert.Equal([RenewalResult.Ok], await client.RenewAsync(OneLease));
        await client.RegisterAsync(new InstanceRegistration("prod", "orders", "a", "10.0.0.1", 80));

        // The first write fails over to B; the renewal, with B gone, is taken by A; the next write skips A although
        // A answered last, because A refuses writes for the 30 s it asked.
        Assert.Equal(
            ["node-a:8080", "node-b:8080", "node-b:8080", "node-a:8080", "node-b:8080"],
            handler.Requests.Select(r => r.Node));
    }

    [Fact]
    public async Task A_refusal_names_the_field_and_is_not_retried()
    {
        var handler = new ScriptedHandler((_, _) => ScriptedHandler.Status(
            HttpStatusCode.BadRequest, """{"type":"about:blank","title":"Invalid request","status":400,"detail":"port must be 1 to 65535.","field":"port"}""", "application/problem+json"));
        using var client = new RosterClient(Options(NodeA, NodeB), handler, new SteppedTimeProvider());

        var refused = await Assert.ThrowsAsync<RosterRequestException>(
            () => client.RegisterAsync(new InstanceRegistration("prod", "orders", "a", "10.0.0.1", 0)));

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("port", refused.Field);
        Assert.Contains("65535", refused.Message, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task When_no_node_answers_the_call_fails_at_its_deadline_naming_the_nodes()
    {
        var time = new SteppedTimeProvider();
        var handler = new ScriptedHandler((_, _) => null);
        var options = Options(NodeA, NodeB);
        options.CallTimeout = TimeSpan.FromSeconds(10);
        using var client = new RosterClient(options, handler, time);

        var renewal = client.RenewAsync(OneLease);
        for (var i = 0; i < 200 && !renewal.IsCompleted; i++)
        {
            await Eventually.TrueAsync(() => renewal.IsCompleted || time.PendingTimers == 2, "the call waits between rounds");
            time.Advance(TimeSpan.FromMilliseconds(250));
        }

        var failure = await Assert.ThrowsAsync<RosterUnavailableException>(() => renewal.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("node-a", failure.Message, StringComparison.Ordinal);
        Assert.Contains("node-b", failure.Message, StringComparison.Ordinal);
        // Rounds of two attempts, spaced by a backoff that grew: far fewer than one attempt per step.
        Assert.InRange(handler.Requests.Count, 6, 30);
        Assert.Equal(handler.Requests.Count(r => r.Node == "node-a:8080"), handler.Requests.Count(r => r.Node == "node-b:8080"));
    }

    [Fact]
    public void Options_without_a_server_are_refused_naming_the_setting()
    {
        var error = Assert.Throws<ArgumentException>(() => new RosterClient(new RosterClientOptions()));
        Assert.Contains("Servers", error.Message, StringComparison.Ordinal);
    }
}
