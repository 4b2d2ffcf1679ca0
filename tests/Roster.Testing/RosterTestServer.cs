using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Roster.Server;

namespace Roster.Testing;

/// <summary>A registry node in this process: real Kestrel on 127.0.0.1, an ephemeral port, real storage.</summary>
public sealed class RosterTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _inMemory;
    private string? _dataDirectory;
    private bool _stopped;

    private RosterTestServer(WebApplication app, Uri address, string? dataDirectory, bool inMemory)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        _inMemory = inMemory;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>The node's services (its meter factory scopes its instruments).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a node. Durable under a fresh temporary directory unless <paramref name="inMemory"/>.</summary>
    public static Task<RosterTestServer> StartAsync(bool inMemory = false, params string[] settings) =>
        StartAsync(inMemory, time: null, settings);

    /// <summary>Starts a node whose clock is <paramref name="time"/> (leases expire when the test moves it).</summary>
    public static Task<RosterTestServer> StartAsync(bool inMemory, TimeProvider? time, params string[] settings) =>
        StartAsync(inMemory, time, inMemory ? null : Path.Combine(Path.GetTempPath(), "roster-test-" + Guid.NewGuid().ToString("N")), "http://127.0.0.1:0", settings);

    /// <summary>Starts a durable node on <paramref name="dataDirectory"/>, which the test owns (it is not deleted).</summary>
    public static async Task<RosterTestServer> StartOnAsync(string dataDirectory, params string[] settings)
    {
        var server = await StartAsync(inMemory: false, time: null, dataDirectory, "http://127.0.0.1:0", settings);
        server._dataDirectory = null;
        return server;
    }

    /// <summary>Starts a durable node on <paramref name="dataDirectory"/> listening at <paramref name="address"/> (a node
    /// restarted where its clients expect it); the test owns the directory.</summary>
    public static async Task<RosterTestServer> StartOnAsync(string dataDirectory, Uri address, params string[] settings)
    {
        ArgumentNullException.ThrowIfNull(address);
        var server = await StartAsync(inMemory: false, time: null, dataDirectory, address.GetLeftPart(UriPartial.Authority), settings);
        server._dataDirectory = null;
        return server;
    }

    private static async Task<RosterTestServer> StartAsync(bool inMemory, TimeProvider? time, string? dataDirectory, string urls, string[] settings)
    {
        // An empty content root: the node must not read an appsettings.json meant for the test's clients.
        var contentRoot = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "roster-test-content-root")).FullName;
        string[] args =
        [
            $"--contentRoot={contentRoot}",
            $"--urls={urls}",
            $"--Roster:Storage:InMemory={inMemory}",
            $"--Roster:Storage:DataDirectory={dataDirectory ?? "unused"}",
            .. settings,
        ];
        var app = RosterServer.Build(args, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            // Test nodes run without tokens on loopback on purpose: their warning that the API is open is not news.
            builder.Logging.AddFilter("Roster.Server.Security.TokenAuthorizer", LogLevel.Error);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var server = new RosterTestServer(app, new Uri(address), dataDirectory, inMemory);
        await server.WaitReadyAsync();
        return server;
    }

    public async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await Client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode != System.Net.HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The node did not become ready.");
            }

            await Task.Delay(10);
        }
    }

    public async Task<HttpResponseMessage> RegisterAsync(string ns, string service, string id, object body)
    {
        using var content = Json(body);
        return await Client.PutAsync(new Uri($"/api/v1/namespaces/{ns}/services/{service}/instances/{Uri.EscapeDataString(id)}", UriKind.Relative), content);
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static StringContent Json(object body) =>
        new(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>Stops the node (an outage) and keeps its data directory for <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            Client.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts a stopped node again at the same address, on the same data directory (an in-memory node
    /// comes back empty, as a new registry). The returned server owns the directory from then on.
    /// </summary>
    public async Task<RosterTestServer> StartAgainAsync(params string[] settings)
    {
        await StopAsync();
        var directory = _dataDirectory;
        _dataDirectory = null;
        return await StartAsync(_inMemory, time: null, directory, Address.ToString().TrimEnd('/'), settings);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_dataDirectory is not null && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
