using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace Roster.Client.Tests;

/// <summary>The agent's own logic, against a scripted registry and a clock moved by hand.</summary>
public sealed class RegistrationAgentTests
{
    private static readonly InstanceRegistration[] Instances =
    [
        new("prod", "orders", "orders-1", "10.0.0.7", 8080) { TtlSeconds = 9 },
        new("prod", "orders-admin", "orders-1", "10.0.0.7", 9090) { TtlSeconds = 9 },
    ];

    /// <summary>A registry that registers (incarnations 1, 2, ...), renews by rule, and drains and deregisters.</summary>
    private sealed class FakeRegistry
    {
        private long _incarnation;

        public ConcurrentQueue<string> Calls { get; } = new();

        public Func<int, string[]>? RenewAnswer { get; set; }

        public Func<int, bool> Refuse { get; set; } = _ => false;

        public ScriptedHandler Handler => new((request, n) =>
        {
            if (Refuse(n))
            {
                return null;
            }

            var path = request.RequestUri!.AbsolutePath;
            var id = path.Split('/')[^1];
            var service = path.Split('/').Length > 6 ? path.Split('/')[6] : "";
            Calls.Enqueue($"{request.Method} {service}{request.RequestUri.Query}");
            if (request.Method == HttpMethod.Put)
            {
                var incarnation = Interlocked.Increment(ref _incarnation);
                return ScriptedHandler.Status(HttpStatusCode.OK, $$"""{"namespace":"prod","service":"{{service}}","id":"{{id}}","incarnation":{{incarnation}},"revision":{{incarnation}},"ttlSeconds":9}""");
            }

            if (request.Method == HttpMethod.Post)
            {
                var renewals = Calls.Count(c => c.StartsWith("POST", StringComparison.Ordinal));
                var results = RenewAnswer?.Invoke(renewals) ?? ["ok", "ok"];
                return ScriptedHandler.Status(HttpStatusCode.OK, JsonSerializer.Serialize(new { results }));
            }

            return ScriptedHandler.Status(request.Method == HttpMethod.Delete ? HttpStatusCode.NoContent : HttpStatusCode.OK);
        });
    }

    /// <summary>An agent on the hand-moved clock; with no drain period, disposing it at the end of a test needs no clock move.</summary>
    private static (RegistrationAgent Agent, RosterClient Client) NewAgent(FakeRegistry registry, SteppedTimeProvider time, double drainSeconds = 0)
    {
        var options = new RosterClientOptions();
        options.Servers.Add(new Uri("http://registry:8080"));
        var client = new RosterClient(options, registry.Handler, time);
        return (new RegistrationAgent(client, Instances, new RegistrationAgentOptions { DrainPeriod = TimeSpan.FromSeconds(drainSeconds) }, time, random: () => 0.5), client);
    }

    [Fact]
    public async Task Registers_every_instance_then_renews_them_in_one_request_every_third_of_the_ttl()
    {
        var registry = new FakeRegistry();
        var time = new SteppedTimeProvider();
        var (agent, client) = NewAgent(registry, time);
        using (client)
        await using (agent)
        {
            agent.Start();
            await Eventually.TrueAsync(() => agent.Registered.All(r => r is not null) && time.PendingTimers == 1, "registered and waiting");
            Assert.Equal(["PUT orders", "PUT orders-admin"], registry.Calls);

            time.Advance(TimeSpan.FromSeconds(2.9));
            Assert.Equal(2, registry.Calls.Count);
            time.Advance(TimeSpan.FromSeconds(0.2));
            await Eventually.TrueAsync(() => registry.Calls.Count == 3 && time.PendingTimers == 1, "one renewal");
            Assert.Equal("POST ", registry.Calls.Last());
        }
    }

    [Fact]
    public async Task An_instance_the_registry_no_longer_knows_is_registered_again_at_once()
    {
        var registry = new FakeRegistry { RenewAnswer = n => n == 1 ? ["ok", "unknown"] : ["ok", "ok"] };
        var time = new SteppedTimeProvider();
        var (agent, client) = NewAgent(registry, time);
        using (client)
        await using (agent)
        {
            agent.Start();
            await Eventually.TrueAsync(() => agent.Registered.All(r => r is not null) && time.PendingTimers == 1, "registered");
            var first = agent.Registered[1]!.Incarnation;

            time.Advance(TimeSpan.FromSeconds(3.1));
            await Eventually.TrueAsync(() => registry.Calls.Count == 4 && time.PendingTimers == 1, "registered again without waiting");

            Assert.Equal(["PUT orders", "PUT orders-admin", "POST ", "PUT orders-admin"], registry.Calls);
            Assert.True(agent.Registered[1]!.Incarnation > first);
        }
    }

    [Fact]
    public async Task Through_an_outage_the_agent_keeps_trying_and_registers_when_the_registry_is_back()
    {
        var registry = new FakeRegistry { Refuse = n => n < 6 };
        var time = new SteppedTimeProvider();
        var (agent, client) = NewAgent(registry, time);
        using (client)
        await using (agent)
        {
            agent.Start();
            for (var i = 0; i < 400 && agent.Registered.Any(r => r is null); i++)
            {
                await Eventually.TrueAsync(() => agent.Registered.All(r => r is not null) || time.PendingTimers >= 1, "waiting to retry");
                time.Advance(TimeSpan.FromMilliseconds(100));
            }

            Assert.All(agent.Registered, r => Assert.NotNull(r));
            Assert.Equal(["PUT orders", "PUT orders-admin"], registry.Calls);
        }
    }

    [Fact]
    public async Task On_stop_instances_are_drained_then_deregistered_after_the_drain_period_and_never_registered_again()
    {
        var registry = new FakeRegistry { RenewAnswer = _ => ["unknown", "unknown"] };
        var time = new SteppedTimeProvider();
        var (agent, client) = NewAgent(registry, time, drainSeconds: 5);
        using (client)
        await using (agent)
        {
            agent.Start();
            await Eventually.TrueAsync(() => agent.Registered.All(r => r is not null) && time.PendingTimers == 1, "registered");
            var registered = agent.Registered.ToList();

            var stopping = agent.StopAsync(CancellationToken.None);
            await Eventually.TrueAsync(() => registry.Calls.Count(c => c.StartsWith("PATCH", StringComparison.Ordinal)) == 2 && time.PendingTimers >= 1, "drained and waiting");
            Assert.DoesNotContain(registry.Calls, c => c.StartsWith("DELETE", StringComparison.Ordinal));

            time.Advance(TimeSpan.FromSeconds(5));
            await stopping.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(
                ["PUT orders", "PUT orders-admin", "PATCH orders", "PATCH orders-admin",
                 $"DELETE orders?incarnation={registered[0]!.Incarnation}", $"DELETE orders-admin?incarnation={registered[1]!.Incarnation}"],
                registry.Calls);
            Assert.All(agent.Registered, r => Assert.Null(r));
        }
    }
}
