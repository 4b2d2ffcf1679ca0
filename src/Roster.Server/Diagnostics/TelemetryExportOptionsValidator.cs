using Microsoft.Extensions.Options;

namespace Roster.Server.Diagnostics;

/// <summary>Refuses an export that could never reach anything, at start rather than at the first export.</summary>
internal sealed class TelemetryExportOptionsValidator : IValidateOptions<TelemetryExportOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryExportOptions options)
    {
        var errors = new List<string>();
        if (options.OtlpEndpoint is { } endpoint && (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https")))
        {
            errors.Add("Roster:Telemetry:OtlpEndpoint must be an absolute http:// or https:// address, e.g. http://127.0.0.1:4317.");
        }

        if (options.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            errors.Add("Roster:Telemetry:OtlpProtocol must be 'grpc' or 'http/protobuf'.");
        }

        if (options.MetricsInterval < TimeSpan.FromSeconds(1) || options.MetricsInterval > TimeSpan.FromHours(1))
        {
            errors.Add("Roster:Telemetry:MetricsInterval must lie between 00:00:01 and 01:00:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
