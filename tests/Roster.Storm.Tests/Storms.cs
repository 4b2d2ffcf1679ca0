namespace Roster.Storm.Tests;

/// <summary>The storm tests run one at a time: each loads the machine's two cores by itself.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Storms
{
    public const string Name = "storms";

    /// <summary>Providers started at once (issue: 5,000).</summary>
    public const int Providers = 5_000;

    /// <summary>Their lease: renewed every 5 s, so a lost renewal would show as an expiry within the test.</summary>
    public const int TtlSeconds = 15;

    /// <summary>Connections the node(s) must hold open at once (issue: at least 2,000; each provider has its own).</summary>
    public const int LeastConnections = 2_000;

    /// <summary>The memory bound: what 5,000 instances, their leases and 5,000 connections may take in one node
    /// process (measured: 170 to 181 MiB at the storm's peak, an empty node about 100 MiB).</summary>
    public const long MostResidentBytes = 384L * 1024 * 1024;

    public static readonly TimeSpan AllRegisteredWithin = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan RenewalRoundWithin = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan AllRenewedAfterRestartWithin = TimeSpan.FromSeconds(30);
    /// <summary>A probe of the node's health port (<c>--health-port</c>, a thread of its own) answers within this.</summary>
    public static readonly TimeSpan HealthWithin = TimeSpan.FromMilliseconds(200);

    /// <summary>The API port's own <c>/healthz</c> answers within an orchestrator's default probe timeout, though it waits
    /// in line behind the storm's requests.</summary>
    public static readonly TimeSpan ApiHealthWithin = TimeSpan.FromSeconds(1);

    internal static void AssertHealthy(HealthProbe probe, string when)
    {
        var (answered, longest, failures) = probe.Result();
        Assert.True(failures.Count == 0, $"/healthz failed or took over {probe.Bound.TotalMilliseconds} ms {when}: {string.Join("; ", failures.Take(20))}");
        Assert.True(answered > 0, $"/healthz was never answered {when}");
    }

    /// <summary>Waits until a quarter of the fleet has renewed again since now: a kill then lands in the middle of a
    /// renewal round, not in the quiet between two (the providers started together, so their renewals come in waves).</summary>
    internal static async Task UntilARenewalRoundIsUnderwayAsync(ProviderFleet fleet)
    {
        var from = System.Diagnostics.Stopwatch.GetTimestamp();
        var incarnations = fleet.Incarnations();
        await Eventually.TrueAsync(() => fleet.RenewedSince(from, incarnations) >= fleet.Size / 4, "a renewal round is underway", RenewalRoundWithin);
    }

    internal static void AssertOnlyShed(ResponseCounts responses) =>
        Assert.True(responses.ServerErrors.Count == 0, $"5xx other than 503 with Retry-After: {string.Join("; ", responses.ServerErrors.Take(5))}");
}
