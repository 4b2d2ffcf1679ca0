using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Roster.Console.Tests;

/// <summary>The console's pages in Debian's chromium.</summary>
public sealed class ConsoleTestsInChromium(ChromiumFixture browser) : ConsoleTests(browser), IClassFixture<ChromiumFixture>;

/// <summary>The console's pages in Debian's Firefox ESR.</summary>
public sealed class ConsoleTestsInFirefox(FirefoxFixture browser) : ConsoleTests(browser), IClassFixture<FirefoxFixture>;

/// <summary>
/// The web console against a real node: what it shows is what the API says, and it follows changes live. Run in each
/// browser by the classes above.
/// </summary>
public abstract class ConsoleTests(BrowserFixture browser)
{
    private static readonly TimeSpan LiveWithin = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task The_overview_shows_the_node_and_every_namespace_with_the_apis_counts_by_state()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "prod", "orders", "a");
        await RegisterAsync(server, "prod", "orders", "b");
        await RegisterAsync(server, "prod", "orders", "c");
        await RegisterAsync(server, "prod", "payments", "p", weight: 0);
        await RegisterAsync(server, "staging", "orders", "s");
        await PatchAsync(server, "prod", "orders", "b", new { drained = true });
        await PatchAsync(server, "prod", "orders", "c", new { disabled = true });

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/");
        var api = await server.GetJsonAsync("/api/v1/namespaces");
        foreach (var ns in api.GetProperty("namespaces").EnumerateArray())
        {
            var row = page.Locator($"#namespaces tr[data-namespace='{ns.GetProperty("name").GetString()}']");
            await Assertions.Expect(row.Locator("[data-field=services]")).ToHaveTextAsync(ns.GetProperty("services").GetInt32().ToString());
            await Assertions.Expect(row.Locator("[data-field=instances]")).ToHaveTextAsync(ns.GetProperty("instances").GetInt32().ToString());
            foreach (var state in (string[])["up", "drained", "disabled", "weightZero"])
            {
                await Assertions.Expect(row.Locator($"[data-field={state}]")).ToHaveTextAsync(ns.GetProperty("states").GetProperty(state).GetInt32().ToString());
            }
        }

        // The counts themselves, so that the comparison above is not two empty lists agreeing.
        var prod = page.Locator("#namespaces tr[data-namespace='prod']");
        await Assertions.Expect(prod.Locator("[data-field=up]")).ToHaveTextAsync("1");
        await Assertions.Expect(prod.Locator("[data-field=drained]")).ToHaveTextAsync("1");
        await Assertions.Expect(prod.Locator("[data-field=disabled]")).ToHaveTextAsync("1");
        await Assertions.Expect(prod.Locator("[data-field=weightZero]")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#node-status [data-field=status]")).ToHaveTextAsync("live");
        await Assertions.Expect(page.Locator("#node-status [data-field=revision]"))
            .ToHaveTextAsync((await server.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64().ToString());
    }

    [Fact]
    public async Task The_service_list_is_sorted_by_name_filters_and_shows_the_apis_figures()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        foreach (var name in (string[])["payments", "orders", "inventory", "orders-v2"])
        {
            await RegisterAsync(server, "prod", name, "x");
        }

        await RegisterAsync(server, "prod", "orders", "y");
        await PatchAsync(server, "prod", "orders", "y", new { drained = true });

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod");
        var rows = page.Locator("#services tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(4);
        Assert.Equal(["inventory", "orders", "orders-v2", "payments"], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.service)"));

        var api = await server.GetJsonAsync("/api/v1/namespaces/prod/services");
        var orders = api.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "orders");
        var row = page.Locator("#services tr[data-service='orders']");
        await Assertions.Expect(row.Locator("[data-field=up]")).ToHaveTextAsync("1");
        await Assertions.Expect(row.Locator("[data-field=drained]")).ToHaveTextAsync("1");
        await Assertions.Expect(row.Locator("[data-field=sequence]")).ToHaveTextAsync(orders.GetProperty("sequence").GetInt64().ToString());
        await Assertions.Expect(row.Locator("[data-field=digest]")).ToHaveTextAsync(orders.GetProperty("digest").GetString()!);

        await page.FillAsync("#service-filter", "orders");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#service-count")).ToHaveTextAsync("2 of 4 services");
    }

    [Fact]
    public async Task The_service_list_follows_the_namespace_and_shows_a_change_within_a_second()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "prod", "orders", "x");
        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod");
        await Assertions.Expect(page.Locator("#services tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");

        await RegisterAsync(server, "prod", "billing", "b1");
        await Assertions.Expect(page.Locator("#services tr[data-service='billing'] [data-field=up]"))
            .ToHaveTextAsync("1", new() { Timeout = (float)LiveWithin.TotalMilliseconds });

        await PatchAsync(server, "prod", "orders", "x", new { drained = true });
        var orders = page.Locator("#services tr[data-service='orders']");
        await Assertions.Expect(orders.Locator("[data-field=drained]")).ToHaveTextAsync("1", new() { Timeout = (float)LiveWithin.TotalMilliseconds });
        await Assertions.Expect(orders.Locator("[data-field=up]")).ToHaveTextAsync("0");
    }

    [Fact]
    public async Task An_open_service_view_shows_registrations_drains_and_deregistrations_made_through_the_api_within_a_second()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        var beforeFirst = DateTimeOffset.UtcNow.AddMilliseconds(-1);
        await RegisterAsync(server, "prod", "orders", "a");
        var afterFirst = DateTimeOffset.UtcNow.AddMilliseconds(1);
        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='a']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");

        await RegisterAsync(server, "prod", "orders", "b", zone: "eu-west-1b");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='b'] [data-field=zone]"))
            .ToHaveTextAsync("eu-west-1b", new() { Timeout = (float)LiveWithin.TotalMilliseconds });

        await PatchAsync(server, "prod", "orders", "b", new { drained = true });
        await Assertions.Expect(page.Locator("#instances tr[data-instance='b']"))
            .ToHaveAttributeAsync("data-state", "drained", new() { Timeout = (float)LiveWithin.TotalMilliseconds });

        using (var deleted = await server.Client.DeleteAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a", UriKind.Relative)))
        {
            deleted.EnsureSuccessStatusCode();
        }

        await Assertions.Expect(page.Locator("#instances tr[data-instance='a']")).ToHaveCountAsync(0, new() { Timeout = (float)LiveWithin.TotalMilliseconds });
        var revision = (await server.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("revision").GetInt64();
        await Assertions.Expect(page.Locator("#revision")).ToHaveTextAsync(revision.ToString());
        // Three changes seen live, under the one made before the page opened (from the node's watch history).
        await Assertions.Expect(page.Locator("#timeline li")).ToHaveCountAsync(4);
        await Assertions.Expect(page.Locator("#timeline li").First).ToContainTextAsync("a deregistered");
        await Assertions.Expect(page.Locator("#timeline li").Last).ToContainTextAsync("a registered at 10.0.0.1:8080");
        // Every entry, the one from before the page opened too, shows when the node accepted the change.
        await Assertions.Expect(page.Locator("#timeline li time")).ToHaveCountAsync(4);
        var firstChange = DateTimeOffset.Parse(
            (await page.Locator("#timeline li").Last.Locator("time").GetAttributeAsync("datetime"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(firstChange, beforeFirst, afterFirst);
    }

    [Fact]
    public async Task Filters_narrow_the_instances_by_state_zone_version_and_metadata()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "prod", "orders", "a", zone: "z1", version: "1.0", metadata: new Dictionary<string, string> { ["team"] = "red" });
        await RegisterAsync(server, "prod", "orders", "b", zone: "z2", version: "2.0", metadata: new Dictionary<string, string> { ["team"] = "blue" });
        await RegisterAsync(server, "prod", "orders", "c", zone: "z2", version: "1.0");
        await PatchAsync(server, "prod", "orders", "c", new { drained = true });
        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        var rows = page.Locator("#instances tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(3);

        await page.SelectOptionAsync("#filter-state", "drained");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await page.SelectOptionAsync("#filter-state", "");
        await page.FillAsync("#filter-zone", "z2");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await page.FillAsync("#filter-version", "2.0");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await page.FillAsync("#filter-zone", "");
        await page.FillAsync("#filter-version", "");
        await page.FillAsync("#filter-metadata", "team=red");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await Assertions.Expect(rows.First).ToHaveAttributeAsync("data-instance", "a");
    }

    [Fact]
    public async Task Leased_instances_show_their_time_to_expiry_and_persistent_ones_none()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "prod", "orders", "leased");
        using (var response = await server.RegisterAsync("prod", "orders", "fixed", new { address = "10.0.0.9", port = 80, persistent = true }))
        {
            response.EnsureSuccessStatusCode();
        }

        var page = await browser.OpenAsync(server.Address);
        await page.GotoAsync("/#/ns/prod/svc/orders");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='leased'] [data-field=lease]")).ToContainTextAsync("expires in");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='fixed'] [data-field=lease]")).ToHaveTextAsync("none (persistent)");
        await Assertions.Expect(page.Locator("#instances tr[data-instance='fixed'] [data-field=kind]")).ToHaveTextAsync("persistent");
    }

    [Fact]
    public async Task The_three_pages_fit_a_phone_and_a_desktop_screen()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "prod", "orders", "orders-1", zone: "eu-west-1a", version: "1.4.2", metadata: new Dictionary<string, string> { ["team"] = "checkout" });
        await RegisterAsync(server, "prod", "orders", "orders-2", zone: "eu-west-1b", version: "1.4.2", metadata: new Dictionary<string, string> { ["team"] = "checkout" });
        await RegisterAsync(server, "prod", "orders", "orders-3", zone: "eu-west-1c", version: "1.5.0-rc1", metadata: new Dictionary<string, string> { ["team"] = "checkout", ["canary"] = "true" });
        await RegisterAsync(server, "prod", "payments", "payments-1", zone: "eu-west-1a", version: "3.2.0");
        await RegisterAsync(server, "prod", "inventory", "inventory-1", zone: "eu-west-1b", version: "2.0.1");
        await RegisterAsync(server, "staging", "orders", "orders-s1", version: "1.5.0");
        await PatchAsync(server, "prod", "orders", "orders-2", new { drained = true });
        await PatchAsync(server, "prod", "orders", "orders-3", new { weight = 10 });

        // Screenshots for docs/console.md when asked for (ROSTER_CONSOLE_SCREENSHOTS=docs/console; chromium's), else to a
        // scratch folder.
        var folder = (browser.Name == "chromium" ? Environment.GetEnvironmentVariable("ROSTER_CONSOLE_SCREENSHOTS") : null)
            ?? Directory.CreateTempSubdirectory($"roster-console-{browser.Name}-").FullName;
        foreach (var phone in (bool[])[false, true])
        {
            var page = await browser.OpenAsync(server.Address, phone);
            foreach (var (name, address, ready) in ((string, string, string)[])[
                ("overview", "/", "#namespaces tr[data-namespace='prod']"),
                ("services", "/#/ns/prod", "#services tr[data-service='orders']"),
                ("service", "/#/ns/prod/svc/orders", "#instances tr[data-instance='orders-3'] [data-field=lease]:has-text('expires')")])
            {
                await page.GotoAsync(address);
                await Assertions.Expect(page.Locator(ready)).ToBeVisibleAsync();
                var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
                Assert.True(overflow <= 0, $"{name} at {(phone ? "phone" : "desktop")} width is {overflow} px wider than the screen: "
                    + await page.EvaluateAsync<string>("() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className).join(' ')"));
                var file = Path.Combine(folder, $"{name}{(phone ? "-phone" : string.Empty)}.png");
                await page.ScreenshotAsync(new() { Path = file, FullPage = !phone });
                Assert.True(new FileInfo(file).Length > 5_000);
            }
        }
    }

    [Fact]
    public async Task Metadata_that_looks_like_markup_renders_as_text()
    {
        const string Attack = "<img src=x onerror=alert(1)>";
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        await RegisterAsync(server, "prod", "orders", "a", metadata: new Dictionary<string, string> { ["note"] = Attack, [Attack] = "key" });
        var page = await browser.OpenAsync(server.Address);
        var dialogs = 0;
        page.Dialog += (_, dialog) => Interlocked.Increment(ref dialogs);
        await page.GotoAsync("/#/ns/prod/svc/orders");

        var metadata = page.Locator("#instances tr[data-instance='a'] [data-field=metadata]");
        await Assertions.Expect(metadata.Locator(".tag .value")).ToHaveCountAsync(2);
        Assert.Contains(Attack, await metadata.Locator(".tag .value").AllTextContentsAsync());
        Assert.Contains(Attack, await metadata.Locator(".tag .key").AllTextContentsAsync());
        Assert.Equal(0, await page.Locator("#view img").CountAsync());
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task After_the_node_restarts_the_page_reconnects_by_itself_and_shows_what_changed_meanwhile()
    {
        var data = Path.Combine(Path.GetTempPath(), "roster-console-" + Guid.NewGuid().ToString("N"));
        try
        {
            Uri address;
            IPage page;
            await using (var server = await RosterTestServer.StartOnAsync(data))
            {
                address = server.Address;
                await RegisterAsync(server, "prod", "orders", "a");
                page = await browser.OpenAsync(address);
                await page.GotoAsync("/#/ns/prod/svc/orders");
                await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
                await page.EvaluateAsync("() => { window.loadedOnce = true; }");
            }

            await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "disconnected", new() { Timeout = 10_000 });
            await Assertions.Expect(page.Locator("#connection")).ToContainTextAsync("disconnected");

            await using var restarted = await RosterTestServer.StartOnAsync(data, address);
            await RegisterAsync(restarted, "prod", "orders", "b");
            using (var deleted = await restarted.Client.DeleteAsync(new Uri("/api/v1/namespaces/prod/services/orders/instances/a", UriKind.Relative)))
            {
                deleted.EnsureSuccessStatusCode();
            }

            await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live", new() { Timeout = 10_000 });
            await Assertions.Expect(page.Locator("#instances tr[data-instance='b']")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#instances tr[data-instance='a']")).ToHaveCountAsync(0);
            var revision = (await restarted.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("revision").GetInt64();
            await Assertions.Expect(page.Locator("#revision")).ToHaveTextAsync(revision.ToString());
            Assert.True(await page.EvaluateAsync<bool>("() => window.loadedOnce === true"), "the page was not reloaded");
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task The_page_answers_with_a_strict_content_security_policy()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        foreach (var path in (string[])["/", "/ui/app.js", "/ui/style.css"])
        {
            using var response = await server.Client.GetAsync(new Uri(path, UriKind.Relative));
            response.EnsureSuccessStatusCode();
            var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
            Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
            Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        }

        var html = await server.Client.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.DoesNotMatch("<script(?![^>]*\\bsrc=)", html);
    }

    private static async Task RegisterAsync(
        RosterTestServer server, string ns, string service, string id, string zone = "", string version = "", int weight = 100,
        Dictionary<string, string>? metadata = null)
    {
        using var response = await server.RegisterAsync(ns, service, id, new
        {
            address = "10.0.0.1", port = 8080, zone, version, weight, ttlSeconds = 60, metadata = metadata ?? [],
        });
        response.EnsureSuccessStatusCode();
    }

    private static async Task PatchAsync(RosterTestServer server, string ns, string service, string id, object patch)
    {
        using var response = await server.Client.PatchAsync(
            new Uri($"/api/v1/namespaces/{ns}/services/{service}/instances/{id}", UriKind.Relative), JsonContent.Create(patch));
        response.EnsureSuccessStatusCode();
    }
}
