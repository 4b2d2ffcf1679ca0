using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Roster.Core.Diagnostics;

namespace Roster.Server.Diagnostics;

/// <summary>
/// The opt-in OTLP export (<c>Roster:Telemetry</c>): the same meters <c>/metrics</c> renders, read by
/// OpenTelemetry's SDK, plus ASP.NET Core's request spans. Nothing is added to the node when no endpoint is set,
/// so a node that does not export pays nothing for it.
/// </summary>
internal static class TelemetryExport
{
    /// <summary>The meters a node exports: its own, the core's, the runtime's and ASP.NET Core's HTTP and Kestrel figures.</summary>
    public static readonly string[] Meters =
        [ServerTelemetry.Name, CoreTelemetry.Name, "System.Runtime", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    public static void AddTelemetryExport(this IServiceCollection services, IConfigurationSection section)
    {
        services.AddOptions<TelemetryExportOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<TelemetryExportOptions>, TelemetryExportOptionsValidator>();

        // Read now: whether OpenTelemetry is added at all is decided while the services are composed. Settings the
        // validator refuses stop the node at start, before any exporter runs.
        var options = section.Get<TelemetryExportOptions>() ?? new TelemetryExportOptions();
        if (options.OtlpEndpoint is not { IsAbsoluteUri: true } endpoint || new TelemetryExportOptionsValidator().Validate(null, options).Failed)
        {
            return;
        }

        var protocol = options.OtlpProtocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("roster", serviceVersion: typeof(TelemetryExport).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics
                .AddMeter(Meters)
                .AddOtlpExporter((exporter, reader) =>
                {
                    Configure(exporter, endpoint, protocol, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.MetricsInterval.TotalMilliseconds;
                }));
        if (options.Traces)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource("Microsoft.AspNetCore")
                .AddOtlpExporter(exporter => Configure(exporter, endpoint, protocol, "v1/traces")));
        }
    }

    /// <summary>
    /// Over HTTP/protobuf each signal has its own path; an address given without one gets the standard path, as
    /// OpenTelemetry does for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (an address set in code is otherwise used as is).
    /// </summary>
    private static void Configure(OtlpExporterOptions exporter, Uri endpoint, OtlpExportProtocol protocol, string signalPath)
    {
        exporter.Protocol = protocol;
        exporter.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath == "/" ? new Uri(endpoint, signalPath) : endpoint;
    }
}
