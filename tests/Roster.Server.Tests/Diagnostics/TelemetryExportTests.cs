using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Roster.Server.Tests.Diagnostics;

/// <summary>
/// The opt-in OTLP export, received by a real HTTP endpoint that accepts OTLP/HTTP protobuf the way a collector does.
/// The payload is protobuf, in which instrument and scope names are plain UTF-8: enough to see what was exported.
/// </summary>
public sealed class TelemetryExportTests
{
    [Fact]
    public async Task A_node_given_an_otlp_endpoint_exports_its_meters_and_request_spans()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var server = await RosterTestServer.StartAsync(
            true,
            $"--Roster:Telemetry:OtlpEndpoint={collector.Address}",
            "--Roster:Telemetry:OtlpProtocol=http/protobuf",
            "--Roster:Telemetry:MetricsInterval=00:00:01");
        using (var response = await server.RegisterAsync("prod", "orders", "a", new { address = "10.0.0.1", port = 80, ttlSeconds = 30 }))
        {
            response.EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(
            () => collector.Received("/v1/metrics", "roster.instances") && collector.Received("/v1/metrics", "http.server.request.duration")
                && collector.Received("/v1/metrics", "roster.log.append.duration") && collector.Received("/v1/metrics", "dotnet.gc.collections"),
            "the node's, the core's, ASP.NET Core's and the runtime's instruments are exported", TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => collector.Received("/v1/traces", "Microsoft.AspNetCore"), "request spans are exported", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Without_an_endpoint_nothing_is_exported_and_metrics_is_still_served()
    {
        await using var server = await RosterTestServer.StartAsync(true);
        Assert.Null(server.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
        Assert.Contains("roster_instances", await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Roster:Telemetry:OtlpProtocol=udp", "Roster:Telemetry:OtlpProtocol")]
    [InlineData("--Roster:Telemetry:OtlpEndpoint=ftp://127.0.0.1:4317", "Roster:Telemetry:OtlpEndpoint")]
    [InlineData("--Roster:Telemetry:MetricsInterval=00:00:00.1", "Roster:Telemetry:MetricsInterval")]
    public async Task Invalid_export_settings_refuse_to_start_naming_the_setting(string setting, string named)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => RosterTestServer.StartAsync(true, setting));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Accepts <c>POST /v1/metrics</c> and <c>/v1/traces</c> and keeps every body by path.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _bodies = new();

        private OtlpReceiver(WebApplication app) => _app = app;

        public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.MapPost("/v1/{signal}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                receiver._bodies.Enqueue((context.Request.Path.Value!, body.ToArray()));
                context.Response.ContentType = "application/x-protobuf";
                return Results.Ok();
            });
            await app.StartAsync();
            return receiver;
        }

        public bool Received(string path, string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return _bodies.Any(b => b.Path == path && b.Body.AsSpan().IndexOf(bytes) >= 0);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
