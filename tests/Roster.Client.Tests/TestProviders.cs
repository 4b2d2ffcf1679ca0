using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Roster.Client.Tests;

/// <summary>Kestrel servers that stand for providers in these tests.</summary>
internal static class TestProviders
{
    /// <summary>A provider registered nowhere (a static list, etcd or Kubernetes names it): answers <c>GET /whoami</c> with <paramref name="name"/>.</summary>
    public static async Task<WebApplication> StartUnregisteredAsync(string name, string url = "http://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGet("/whoami", () => name);
        await app.StartAsync();
        return app;
    }

    /// <summary>The address the server listens on.</summary>
    public static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
}
