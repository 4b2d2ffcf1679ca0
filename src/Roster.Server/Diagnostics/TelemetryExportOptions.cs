namespace Roster.Server.Diagnostics;

/// <summary>
/// Settings under <c>Roster:Telemetry</c>: the opt-in export of the node's metrics and request traces over OTLP
/// (to an OpenTelemetry Collector, or any backend that accepts OTLP). Off unless <see cref="OtlpEndpoint"/> is set;
/// <c>/metrics</c> is served either way.
/// </summary>
public sealed class TelemetryExportOptions
{
    /// <summary>Where to send OTLP, e.g. <c>http://127.0.0.1:4317</c> (gRPC) or <c>http://127.0.0.1:4318</c>
    /// (HTTP/protobuf: <c>/v1/metrics</c> and <c>/v1/traces</c> are appended when the address has no path).</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (the default) or <c>http/protobuf</c>, OpenTelemetry's names for them.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>How often metrics are exported; 60 s unless set (OpenTelemetry's default).</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Exports a span per HTTP request (ASP.NET Core's own activity source) as well as metrics.</summary>
    public bool Traces { get; set; } = true;
}
