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

    private async Task<System.Text.Json.JsonElement> Instances() =>
        (await _node.GetJsonAsync("/api/v1/namespaces/prod/services/invoices")).GetProperty("instances");
}
