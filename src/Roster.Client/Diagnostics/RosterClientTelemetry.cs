using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Roster.Client.Diagnostics;

/// <summary>
/// The SDK's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named <c>Roster.Client</c>:
/// subscribe with OpenTelemetry's <c>AddMeter("Roster.Client")</c> and <c>AddSource("Roster.Client")</c>.
/// Instruments follow OpenTelemetry's naming, with units; tags take values from small fixed sets, plus the
/// namespace and service names the application itself calls (never an instance id or an address).
/// With no listener, recording costs a branch.
/// </summary>
public static class RosterClientTelemetry
{
    /// <summary>The meter's and the activity source's name.</summary>
    public const string Name = "Roster.Client";

    private static readonly string? Version = typeof(RosterClientTelemetry).Assembly.GetName().Version?.ToString();
    private static readonly ConcurrentDictionary<RosterDiscovery, byte> Discoveries = new();

    internal static readonly ActivitySource ActivitySource = new(Name, Version);

    internal static readonly Meter Meter = new(Name, Version);

    /// <summary>Requests sent by service name through Roster's handler, by <c>roster.service</c> and <c>roster.outcome</c> (answered: any answer below 500 that was not declined; failure, declined, no_endpoint).</summary>
    internal static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "roster.client.requests", "{request}", "Requests sent by service name through Roster's handler, by outcome.");

    /// <summary>Attempts on another endpoint after the first, by <c>roster.service</c> and <c>roster.reason</c> (declined, connection_error, failure).</summary>
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "roster.client.retries", "{attempt}", "Attempts on another endpoint after the first, by what the previous one met.");

    /// <summary>Typed rejections from providers, by <c>roster.service</c> and <c>roster.rejection</c> (draining, not-hosted, overloaded, other).</summary>
    internal static readonly Counter<long> Rejections = Meter.CreateCounter<long>(
        "roster.client.rejections", "{response}", "Requests a provider declined with a typed rejection, by reason.");

    /// <summary>Endpoints ejected by outlier detection, by <c>roster.service</c>.</summary>
    internal static readonly Counter<long> Ejections = Meter.CreateCounter<long>(
        "roster.client.ejections", "{ejection}", "Endpoints ejected after consecutive failures.");

    /// <summary>Watch streams opened again after one was lost, by <c>roster.namespace</c>.</summary>
    internal static readonly Counter<long> WatchReconnects = Meter.CreateCounter<long>(
        "roster.client.watch.reconnects", "{reconnect}", "Watch streams opened again after one was lost.");

    /// <summary>Services reloaded from a snapshot (a gap, a digest mismatch, a new registry), by <c>roster.namespace</c>.</summary>
    internal static readonly Counter<long> Resyncs = Meter.CreateCounter<long>(
        "roster.client.resyncs", "{resync}", "Services reloaded from a snapshot after a missed change or a digest mismatch.");

    /// <summary>Lease renewals by <c>roster.outcome</c> (ok, lost: the registry no longer had the instance).</summary>
    internal static readonly Counter<long> Renewals = Meter.CreateCounter<long>(
        "roster.client.registration.renewals", "{lease}", "Lease renewals of this process's instances, by outcome.");

    /// <summary>Instances registered again after the registry had dropped them.</summary>
    internal static readonly Counter<long> Reregistrations = Meter.CreateCounter<long>(
        "roster.client.registration.reregistrations", "{instance}", "Instances registered again after the registry had dropped them.");

    static RosterClientTelemetry()
    {
        Meter.CreateObservableGauge(
            "roster.client.list.age", ObserveListAges, "s",
            "How long each service's list may have been out of date (0 while the watch keeps it current), by namespace, service, source (live, cached, disk, static) and origin (registry, static, etcd, ...).");
    }

    /// <summary>A discovery whose lists the list-age gauge reports, until it is disposed.</summary>
    internal static void Track(RosterDiscovery discovery) => Discoveries.TryAdd(discovery, 0);

    internal static void Untrack(RosterDiscovery discovery) => Discoveries.TryRemove(discovery, out _);

    internal static string SourceName(EndpointSource source) => source switch
    {
        EndpointSource.Live => "live",
        EndpointSource.Cached => "cached",
        EndpointSource.Static => "static",
        _ => "disk",
    };

    private static IEnumerable<Measurement<double>> ObserveListAges()
    {
        foreach (var discovery in Discoveries.Keys)
        {
            var at = discovery.Now();
            foreach (var list in discovery.KnownServices())
            {
                yield return new Measurement<double>(list.AgeAt(at).TotalSeconds,
                    new KeyValuePair<string, object?>("roster.namespace", list.Namespace),
                    new KeyValuePair<string, object?>("roster.service", list.Service),
                    new KeyValuePair<string, object?>("roster.source", SourceName(list.Source)),
                    new KeyValuePair<string, object?>("roster.origin", list.Origin));
            }
        }
    }
}
