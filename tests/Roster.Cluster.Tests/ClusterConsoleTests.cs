using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Roster.Cluster.Tests;

/// <summary>The web console of a node of a three-node cluster, in Debian's chromium: every node in the overview, and
/// an instance leased on another node shown as held there.</summary>
[Collection(SharedBrokers.Name)]
public sealed class ClusterConsoleTests(BrokersFixture brokers) : IAsyncLifetime
{
    private ClusterProcesses _cluster = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("console"));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
    }

    [Fact]
    public async Task The_overview_lists_every_node_and_the_service_view_names_the_node_holding_a_lease()
    {
        var nodes = _cluster.Nodes;
        using (var registered = await nodes[0].Client.PutAsync(
            new Uri("/api/v1/namespaces/default/services/orders/instances/a", UriKind.Relative),
            JsonContent.Create(new { address = "10.0.0.1", port = 8080, ttlSeconds = 30 })))
        {
            registered.EnsureSuccessStatusCode();
        }

        var ownerId = (await History.ClusterChecks.GetJsonAsync(nodes[0], "/api/v1/status")).GetProperty("nodeId").GetString()!;
        var page = await _browser.NewPageAsync(new() { BaseURL = nodes[1].Address.ToString() });
        await page.GotoAsync("/");
        var rows = page.Locator("#cluster tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(3, new() { Timeout = 15_000 });
        foreach (var row in await rows.AllAsync())
        {
            await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("live", new() { Timeout = 15_000 });
        }

        await Assertions.Expect(page.Locator("#cluster tr.self")).ToContainTextAsync("(this node)");
        await Assertions.Expect(page.Locator("#cluster tbody")).ToContainTextAsync(ownerId);

        // Read on node 2: the lease lives on node 1, which the view names.
        await page.GotoAsync("/#/ns/default/svc/orders");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='a'] [data-field=lease]"))
            .ToHaveTextAsync($"held by node {ownerId}", new() { Timeout = 15_000 });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _cluster.DisposeAsync();
    }
}
