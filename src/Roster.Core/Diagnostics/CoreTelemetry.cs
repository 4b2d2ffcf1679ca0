using System.Diagnostics.Metrics;

namespace Roster.Core.Diagnostics;

/// <summary>
/// The core's one <see cref="Meter"/>, <c>Roster.Core</c>: what only the core sees as it happens. The node's
/// state (instances, leases, watchers) is observed by the server's meter instead, when it is collected.
/// </summary>
public static class CoreTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Roster.Core";

    internal static readonly Meter Meter = new(Name, typeof(CoreTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Time from handing a batch of changes to the log until it is durable (or, in a cluster, confirmed by the bus).</summary>
    internal static readonly Histogram<double> LogAppendDuration = Meter.CreateHistogram(
        "roster.log.append.duration", "s", "Time for a batch of changes to become durable in the log.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
}
