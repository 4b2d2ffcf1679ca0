using System.Net;

namespace Roster.Client.Tests;

/// <summary>The client against a real registry node on loopback, with a dead node listed first.</summary>
public sealed class RosterClientTests : IAsyncLifetime
{
    private RosterTestServer _node = null!;

    public async Task InitializeAsync() => _node = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private RosterClient NewClient()
    {
        var options = new RosterClientOptions();
        options.Servers.Add(new Uri($"http://127.0.0.1:{Processes.AppProcess.FreePort()}"));
        options.Servers.Add(_node.Address);
        return new RosterClient(options);
    }

    [Fact]
    public async Task Register_renew_and_deregister_go_through_the_live_node()
    {
        using var client = NewClient();
        var registration = new InstanceRegistration("prod", "orders", "orders-1", "10.0.0.7", 8080)
        {
            Zone = "eu-west-1a",
            Metadata = new Dictionary<string, string> { ["build"] = "42" },
            TtlSeconds = 30,
        };

        var registered = await client.RegisterAsync(registration);
        Assert.True(registered.Incarnation > 0);
        Assert.Equal(30, registered.TtlSeconds);
        var listed = await _node.GetJsonAsync("/api/v1/namespaces/prod/services/orders");
        Assert.Equal("orders-1", listed.GetProperty("instances")[0].GetProperty("id").GetString());

        Assert.Equal([RenewalResult.Ok], await client.RenewAsync([LeaseRenewal.Of(registered)]));

        // Registered again on another port: a new incarnation; the old one is stale.
        var moved = await client.RegisterAsync(registration with { Port = 8081 });
        Assert.True(moved.Incarnation > registered.Incarnation);
        Assert.Equal([RenewalResult.StaleIncarnation, RenewalResult.Ok], await client.RenewAsync([LeaseRenewal.Of(registered), LeaseRenewal.Of(moved)]));

        await client.DeregisterAsync("prod", "orders", "orders-1");
        Assert.Equal([RenewalResult.Unknown], await client.RenewAsync([LeaseRenewal.Of(moved)]));
        // Already gone: still a success.
        await client.DeregisterAsync("prod", "orders", "orders-1");
    }

    [Fact]
    public async Task A_registration_the_node_refuses_names_the_field()
    {
        using var client = NewClient();

        var refused = await Assert.ThrowsAsync<RosterRequestException>(
            () => client.RegisterAsync(new InstanceRegistration("prod", "orders", "orders-1", "10.0.0.7", 70000)));

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("port", refused.Field);
    }

    [Fact]
    public async Task The_agent_keeps_an_instance_alive_past_its_ttl_and_removes_it_on_stop()
    {
        using var client = NewClient();
        var agent = new RegistrationAgent(
            client, [new InstanceRegistration("prod", "billing", "billing-1", "10.0.0.8", 8080) { TtlSeconds = 2 }],
            new RegistrationAgentOptions { DrainPeriod = TimeSpan.FromMilliseconds(100) });
        var renewals = 0;
        agent.Renewed += (_, _) => Interlocked.Increment(ref renewals);
        await using (agent)
        {
            agent.Start();
            // Four renewals at TTL/3 take about 2.7 s: longer than the 2 s lease, so only renewal keeps it.
            await Eventually.TrueAsync(() => Volatile.Read(ref renewals) >= 4, "four renewals", TimeSpan.FromSeconds(20));
            var listed = await _node.GetJsonAsync("/api/v1/namespaces/prod/services/billing");
            Assert.Equal(agent.Registered[0]!.Incarnation, listed.GetProperty("instances")[0].GetProperty("incarnation").GetInt64());

            await agent.StopAsync(CancellationToken.None);
            listed = await _node.GetJsonAsync("/api/v1/namespaces/prod/services/billing");
            Assert.Equal(0, listed.GetProperty("instances").GetArrayLength());
        }
    }
}
