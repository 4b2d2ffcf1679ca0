using Microsoft.Playwright;

namespace Roster.Console.Tests;

/// <summary>
/// One headless browser for a test class, installed from Debian by the test command (Playwright's own browser download
/// is never used). Each test opens its own context, so pages share no storage.
/// </summary>
public abstract class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>"chromium" or "firefox".</summary>
    public abstract string Name { get; }

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await LaunchAsync(_playwright);
    }

    protected abstract Task<IBrowser> LaunchAsync(IPlaywright playwright);

    /// <summary>A page in a fresh context at 1280 px wide, or at phone width.</summary>
    public async Task<IPage> OpenAsync(Uri address, bool phone = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString(),
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
        });
        var page = await context.NewPageAsync();
        return page;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>Debian's chromium (<c>/usr/bin/chromium</c>), driven over the DevTools protocol.</summary>
public sealed class ChromiumFixture : BrowserFixture
{
    public override string Name => "chromium";

    protected override Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
}

/// <summary>
/// Debian's Firefox ESR (<c>/usr/lib/firefox-esr/firefox-esr</c>), driven over WebDriver BiDi (Playwright's
/// <c>moz-firefox</c> channel), so the browser under test is the stock one users run, not a patched build.
/// </summary>
public sealed class FirefoxFixture : BrowserFixture
{
    public override string Name => "firefox";

    protected override Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Firefox.LaunchAsync(new BrowserTypeLaunchOptions { Channel = "moz-firefox", ExecutablePath = "/usr/lib/firefox-esr/firefox-esr", Headless = true });
}
