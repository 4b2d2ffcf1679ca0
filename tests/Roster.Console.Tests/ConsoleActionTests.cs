using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Roster.Client;

namespace Roster.Console.Tests;

/// <summary>The console's actions in Debian's chromium.</summary>
public sealed class ConsoleActionTestsInChromium(ChromiumFixture browser) : ConsoleActionTests(browser), IClassFixture<ChromiumFixture>;

/// <summary>The console's actions in Debian's Firefox ESR.</summary>
public sealed class ConsoleActionTestsInFirefox(FirefoxFixture browser) : ConsoleActionTests(browser), IClassFixture<FirefoxFixture>;

/// <summary>The console's actions, impact preview, token prompt, subscribers and cross-site protection, in a real browser.</summary>
public abstract class ConsoleActionTests(BrowserFixture browser)
{
    [Fact]
    public async Task A_drain_clicked_in_the_console_changes_the_apis_answer_and_a_consumers_list()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "a");
        await RegisterAsync(server, "b");

        var options = new RosterClientOptions();
        options.Servers.Add(server.Address);
        using var client = new RosterClient(options);
        await using var discovery = new RosterDiscovery(client, new RosterDiscoveryOptions { Namespace = "prod" });
        var list = await discovery.GetEndpointsAsync("orders");
        Assert.DoesNotContain(list.Endpoints, e => e.Drained);

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        await page.ClickAsync("#instances tr[data-instance='b'] button[data-action=drain]");
        await Assertions.Expect(page.Locator("#action-impact")).ToContainTextAsync("Afterwards 1 of 2 instances");
        await page.ClickAsync("#action-confirm");
        await Assertions.Expect(page.Locator("#action-answer")).ToContainTextAsync("b is now drained");

        Assert.True((await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/b")).GetProperty("drained").GetBoolean());
        await Eventually.TrueAsync(
            () => discovery.TryGetEndpoints("orders", out var now) && now.Endpoints.Single(e => e.Id == "b").Drained,
            "the consumer's list shows b drained");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='b']")).ToHaveAttributeAsync("data-state", "drained");
    }

    [Fact]
    public async Task The_impact_preview_refuses_to_drain_the_last_instance_taking_traffic_until_overridden()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "a");
        await RegisterAsync(server, "b");
        await PatchAsync(server, "a", new { drained = true });

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        await page.ClickAsync("#instances tr[data-instance='b'] button[data-action=drain]");
        await Assertions.Expect(page.Locator("#action-impact")).ToContainTextAsync("Afterwards 0 of 2 instances");
        await Assertions.Expect(page.Locator("#action-impact")).ToContainTextAsync("No instance would be left");
        await Assertions.Expect(page.Locator("#action-confirm")).ToBeDisabledAsync();
        Assert.False((await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/b")).GetProperty("drained").GetBoolean());

        await page.CheckAsync("#action-override");
        await Assertions.Expect(page.Locator("#action-confirm")).ToBeEnabledAsync();
        await page.ClickAsync("#action-confirm");
        await Assertions.Expect(page.Locator("#action-answer")).ToContainTextAsync("b is now drained");
        Assert.True((await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/b")).GetProperty("drained").GetBoolean());
    }

    [Fact]
    public async Task Weight_override_and_deregistration_are_confirmed_and_show_the_apis_answer()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "a");
        await RegisterAsync(server, "b");
        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");

        await page.ClickAsync("#instances tr[data-instance='a'] button[data-action=weight]");
        await page.FillAsync("#weight-value", "7");
        await page.ClickAsync("#action-confirm");
        await Assertions.Expect(page.Locator("#action-answer")).ToContainTextAsync("taking traffic at weight 7");
        Assert.Equal(7, (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/a")).GetProperty("weightOverride").GetInt32());

        await page.ClickAsync("#instances tr[data-instance='b'] button[data-action=deregister]");
        await Assertions.Expect(page.Locator("#action-impact")).ToContainTextAsync("Afterwards 1 of 1 instances");
        await page.ClickAsync("#action-confirm");
        await Assertions.Expect(page.Locator("#action-answer")).ToContainTextAsync("b deregistered");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='b']")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task With_tokens_the_page_asks_for_one_and_a_read_only_token_is_shown_403_on_an_action()
    {
        await using var server = await RosterTestServer.StartAsync(true,
            "--Roster:Auth:Tokens:0:Token=reader-secret", "--Roster:Auth:Tokens:0:Namespaces:0=*",
            "--Roster:Auth:Tokens:1:Token=writer-secret", "--Roster:Auth:Tokens:1:Namespaces:0=*", "--Roster:Auth:Tokens:1:Write=true");
        server.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "writer-secret");
        await RegisterAsync(server, "a");
        await RegisterAsync(server, "b");

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        await Assertions.Expect(page.Locator("#token-form")).ToBeVisibleAsync();
        await page.FillAsync("#token", "reader-secret");
        await page.ClickAsync("#token-form button[type=submit]");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='a']")).ToBeVisibleAsync();
        Assert.DoesNotContain("reader-secret", await page.ContentAsync(), StringComparison.Ordinal);

        await page.ClickAsync("#instances tr[data-instance='a'] button[data-action=drain]");
        await page.ClickAsync("#action-confirm");
        await Assertions.Expect(page.Locator("#action-error")).ToContainTextAsync("403");
        Assert.False((await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/a")).GetProperty("drained").GetBoolean());
    }

    [Fact]
    public async Task The_service_view_lists_the_watchers_connected_to_this_node()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "a");
        using var watcher = new HttpClient { BaseAddress = server.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/prod/watch?service=orders");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.UserAgent.ParseAdd("inventory-consumer/2.1");
        using var stream = await watcher.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        stream.EnsureSuccessStatusCode();

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        var row = page.Locator("#subscriber-table tr", new() { HasText = "inventory-consumer/2.1" });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.Locator("[data-field=remote]")).ToContainTextAsync("127.0.0.1:");
        await Assertions.Expect(row.Locator("[data-field=lastRevision]")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task A_page_of_another_site_cannot_change_the_registry()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "a");
        var page = await browser.OpenAsync(server.Address);
        await page.RouteAsync("http://attacker.test/**", route => route.FulfillAsync(new() { ContentType = "text/html", Body = "<html><body>hello</body></html>" }));
        await page.GotoAsync("http://attacker.test/");

        var target = new Uri(server.Address, "/api/v1/namespaces/prod/services/orders/instances/a").ToString();
        var outcome = await page.EvaluateAsync<string>(
            """
            async target => {
              const attempts = [
                fetch(target, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: '{"drained":true}' }),
                fetch(target, { method: 'DELETE' }),
                fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"drained":true}' }),
              ];
              const results = await Promise.allSettled(attempts);
              return results.map(r => r.status === 'fulfilled' ? `${r.value.type}:${r.value.status}` : 'blocked').join(',');
            }
            """, target);
        Assert.StartsWith("blocked,blocked,", outcome, StringComparison.Ordinal);

        var instance = await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders/instances/a");
        Assert.False(instance.GetProperty("drained").GetBoolean());

        // And a request that claims to come from another site is refused outright, whatever it carries.
        using var forged = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/prod/services/orders/instances/a")
        {
            Content = JsonContent.Create(new { drained = true }),
        };
        forged.Headers.Add("Sec-Fetch-Site", "cross-site");
        using var refused = await server.Client.SendAsync(forged);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("Sec-Fetch-Site", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task RegisterAsync(RosterTestServer server, string id)
    {
        using var response = await server.RegisterAsync("prod", "orders", id, new { address = "10.0.0.1", port = 8080, ttlSeconds = 60 });
        response.EnsureSuccessStatusCode();
    }

    private static async Task PatchAsync(RosterTestServer server, string id, object patch)
    {
        using var response = await server.Client.PatchAsync(
            new Uri($"/api/v1/namespaces/prod/services/orders/instances/{id}", UriKind.Relative), JsonContent.Create(patch));
        response.EnsureSuccessStatusCode();
    }
}
