using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Roster.Client.Tests;

/// <summary>Registration under the generic host, against a real registry node.</summary>
public sealed class HostingTests : IAsyncLifetime
{
    private RosterTestServer _node = null!;

    public async Task InitializeAsync() => _node = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_host_registers_its_instance_once_started_and_removes_it_when_stopped()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services
            .AddRoster(options => options.Servers.Add(_node.Address))
            .AddRegistration(options =>
            {
                options.Namespace = "prod";
                options.Service = "invoices";
                options.Address = "10.0.0.9";
                options.Port = 8443;
                options.Scheme = "https";
                options.Metadata["build"] = "7";
                options.Agent.DrainPeriod = TimeSpan.FromMilliseconds(50);
            });
        using var host = builder.Build();

        await host.StartAsync();
        await Eventually.TrueAsync(async () => (await Instances()).GetArrayLength() == 1, "registered once the host started");
        var instance = (await Instances())[0];
        Assert.Equal($"invoices-{Environment.MachineName}-8443".ToLowerInvariant(), instance.GetProperty("id").GetString());
        Assert.Equal("https", instance.GetProperty("scheme").GetString());
        Assert.Equal("7", instance.GetProperty("metadata").GetProperty("build").GetString());

        await host.StopAsync();
        Assert.Equal(0, (await Instances()).GetArrayLength());
    }

    [Fact]
    public async Task Options_that_cannot_work_stop_the_host_at_start_naming_the_setting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRoster(_ => { }).AddDiscovery(options => options.Namespace = "prod");
        using var noServers = builder.Build();
        var refused = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => noServers.StartAsync());
        Assert.Contains("RosterClientOptions.Servers", refused.Message, StringComparison.Ordinal);

        builder = Host.CreateApplicationBuilder();
        builder.Services.AddRoster(options => options.Servers.Add(_node.Address)).AddDiscovery(options =>
        {
            options.Namespace = "prod";
            options.MaxAttemptsPerRequest = 0;
        });
        using var badDiscovery = builder.Build();
        refused = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => badDiscovery.StartAsync());
        Assert.Contains("RosterDiscoveryOptions.MaxAttemptsPerRequest", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adding_roster_twice_adds_one_client_and_one_discovery()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRoster(options => options.Servers.Add(_node.Address)).AddDiscovery(options => options.Namespace = "prod");
        builder.Services.AddRoster(options => options.Servers.Add(_node.Address)).AddDiscovery(options => options.Namespace = "prod");
        using var host = builder.Build();
        await host.StartAsync();

        Assert.Single(host.Services.GetServices<RosterClient>());
        Assert.Single(host.Services.GetServices<RosterDiscovery>());
        Assert.Single(host.Services.GetServices<RosterLoadBalancer>());
        await host.StopAsync();
    }

    private async Task<System.Text.Json.JsonElement> Instances() =>
        (await _node.GetJsonAsync("/api/v1/namespaces/prod/services/invoices")).GetProperty("instances");
}
