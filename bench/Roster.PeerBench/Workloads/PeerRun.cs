using System.Diagnostics;
using Roster.PeerBench.Servers;

namespace Roster.PeerBench.Workloads;

/// <summary>
/// The workloads against one peer, in one order for all: a server (or a cluster) with W1's instances goes
/// through W1 (registration storm), W2 (keep-alive), W3 (watch propagation), W5 (a client dies) and W6 (the
/// server is killed and restarted) or, in a cluster, W7 (a member is killed); then a fresh server takes W4
/// (memory).
/// </summary>
internal sealed class PeerRun(BenchSettings settings, string peer, int run, string workDirectory)
{
    private const int ServerCpu = 1;
    private const int MemoryTtlSeconds = 600;
    private static readonly string[] MainSequence = ["w1", "w2", "w3", "w5", "w6", "w7"];

    public async Task<PeerResult> RunAsync(CancellationToken cancellationToken)
    {
        var result = new PeerResult { Peer = peer, Run = run };
        try
        {
            if (settings.Workloads.Overlaps(MainSequence))
            {
                await RunMainSequenceAsync(result, cancellationToken).ConfigureAwait(false);
            }

            if (settings.Workloads.Contains("w4"))
            {
                await RunMemoryAsync(result, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = e.ToString();
            Log($"failed: {e.Message}");
        }

        return result;
    }

    private async Task RunMainSequenceAsync(PeerResult result, CancellationToken cancellationToken)
    {
        var (deployment, ready) = await PeerDeployment.StartAsync(peer, settings.Members, Path.Combine(workDirectory, $"{peer}-{run}-main"), ServerCpuOrNone, cancellationToken).ConfigureAwait(false);
        await using var running = deployment;
        Log($"started (pids {deployment.Pids}) in {ready.TotalSeconds:0.00} s");
        var instances = settings.Providers * settings.InstancesPerProvider;
        await using var driver = NewDriver(deployment, instances);

        // W1: registration storm.
        var cpu = deployment.CpuTime();
        var clock = Stopwatch.StartNew();
        var latencies = await driver.RegisterAsync(settings.Providers, settings.InstancesPerProvider, settings.TtlSeconds, keepAlive: true, cancellationToken).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuUsed = deployment.CpuTime() - cpu;
        var sorted = latencies.Select(us => us / 1000).Order().ToArray();
        result.W1 = new RegistrationResult(instances, seconds, instances / seconds, Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 99),
            cpuUsed.TotalMicroseconds / instances, Stats.Distribution(sorted));
        Log($"W1 {result.W1.PerSecond:0}/s p50 {result.W1.P50Ms:0.00} ms p99 {result.W1.P99Ms:0.00} ms, {result.W1.ServerCpuUsPerRegistration:0.0} µs CPU each");

        // W2: keep-alive (each provider renews from the moment its registrations are done).
        if (!settings.Workloads.Overlaps(["w2", "w3", "w5", "w6", "w7"]))
        {
            return;
        }
        cpu = deployment.CpuTime();
        clock.Restart();
        await Task.Delay(TimeSpan.FromSeconds(settings.KeepAliveSeconds), cancellationToken).ConfigureAwait(false);
        cpuUsed = deployment.CpuTime() - cpu;
        seconds = clock.Elapsed.TotalSeconds;
        var found = await driver.CountInstancesAsync(cancellationToken).ConfigureAwait(false);
        result.W2 = new KeepAliveResult(seconds, cpuUsed.TotalSeconds / seconds, instances, found, driver.LostRegistrations);
        Log($"W2 {result.W2.ServerCpuCores:0.0000} cores, {found}/{instances} instances, {driver.LostRegistrations} registered again");

        // W3: watch propagation. The watchers stay open for W5 and W6.
        await driver.OpenWatchersAsync(settings.Watchers, cancellationToken).ConfigureAwait(false);
        cpu = deployment.CpuTime();
        var propagation = await driver.RunChangesAsync(settings.Changes, settings.ChangesPerSecond, fault: null, cancellationToken).ConfigureAwait(false);
        cpuUsed = deployment.CpuTime() - cpu;
        sorted = propagation.LatenciesMs.Order().ToArray();
        result.W3 = new WatchResult(settings.Watchers, settings.Changes, Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 99),
            sorted.Length == 0 ? double.NaN : sorted[^1], propagation.MissedPerWatcher.Sum(), propagation.MissedPerWatcher.DefaultIfEmpty().Max(),
            cpuUsed.TotalMicroseconds / Math.Max(1, sorted.Length), Stats.Distribution(sorted));
        Log($"W3 p50 {result.W3.P50Ms:0.00} ms p99 {result.W3.P99Ms:0.00} ms max {result.W3.MaxMs:0.0} ms, missed {result.W3.MissedTotal} (worst watcher {result.W3.MissedWorstWatcher})");

        // W5: a client holding instances is SIGKILLed.
        result.W5 = await RunFailureAsync(driver, cancellationToken).ConfigureAwait(false);
        Log($"W5 all gone after median {result.W5.MedianSeconds:0.00} s, max {result.W5.MaxSeconds:0.00} s ({result.W5.WatchersNotSeeingAll} watchers short)");

        if (deployment.IsCluster)
        {
            result.W7 = await RunMemberFailureAsync(deployment, driver, instances, cancellationToken).ConfigureAwait(false);
            var w7 = result.W7;
            Log($"W7 member {w7.KilledMember + 1} killed: watchers had new changes after median {w7.RecoveryMedianMs:0} ms, all after {w7.RecoveryMaxMs:0} ms " +
                $"({w7.WatchersNotRecovered} never); longest write {w7.LongestWriteMs:0} ms; {w7.MissedTotal} missed; leases owned again after {w7.LeasesOwnedAgainMs:0} ms; " +
                $"{w7.SpuriousDeletes} spurious deletes, {w7.InstancesAfter}/{w7.InstancesExpected} instances");
            return;
        }

        // W6: the server is killed and restarted on the same data and port; providers and watchers carry on.
        var server = deployment.Members[0];
        var spuriousBefore = await driver.SpuriousDeletesAsync(cancellationToken).ConfigureAwait(false);
        server.Kill();
        ready = await server.StartAsync(cancellationToken).ConfigureAwait(false);
        // Leases and sessions must outlive the outage: give expiry a full TTL and more to show itself.
        await Task.Delay(TimeSpan.FromSeconds(settings.TtlSeconds + 5), cancellationToken).ConfigureAwait(false);
        var spurious = await driver.SpuriousDeletesAsync(cancellationToken).ConfigureAwait(false) - spuriousBefore;
        found = await driver.CountInstancesAsync(cancellationToken).ConfigureAwait(false);
        result.W6 = new RestartResult(ready.TotalSeconds, spurious, instances, found);
        Log($"W6 ready {ready.TotalSeconds:0.00} s after restart, {spurious} spurious deletes, {found}/{instances} instances");
    }

    private async Task<FailureResult> RunFailureAsync(IPeerDriver driver, CancellationToken cancellationToken)
    {
        var start = driver.HolderProcess(settings.FailureInstances, settings.TtlSeconds);
        start.RedirectStandardOutput = true;
        using var holder = Process.Start(start) ?? throw new InvalidOperationException("The holder did not start.");
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromMinutes(2));
            while (await holder.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false) is { } line && line != "ready")
            {
            }

            // Let the watchers receive the holder's registrations before it dies.
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            await driver.MarkHolderKilledAsync(cancellationToken).ConfigureAwait(false);
            holder.Kill();
            var seconds = await driver.WaitForHolderGoneAsync(settings.FailureInstances, TimeSpan.FromSeconds(settings.TtlSeconds * 4), cancellationToken).ConfigureAwait(false);
            return new FailureResult(settings.FailureInstances, Stats.Median(seconds), seconds.Where(s => !double.IsNaN(s)).DefaultIfEmpty(double.NaN).Max(),
                seconds.Count(double.IsNaN));
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill();
            }
        }
    }

    /// <summary>
    /// W7: W3's changes again, and a quarter of the way through, SIGKILL of a member that serves providers and
    /// watchers (not a leader: <see cref="PeerDeployment.FollowerToKillAsync"/>). Its clients move to the next
    /// member; after the changes, a TTL and more shows whether any instance was lost or deleted by mistake.
    /// </summary>
    private async Task<MemberFailureResult> RunMemberFailureAsync(PeerDeployment deployment, IPeerDriver driver, int instances, CancellationToken cancellationToken)
    {
        var killed = await deployment.FollowerToKillAsync(cancellationToken).ConfigureAwait(false);
        var spuriousBefore = await driver.SpuriousDeletesAsync(cancellationToken).ConfigureAwait(false);
        Task<double>? leasesOwned = null;
        var fault = new ChangeFault(settings.Changes / 4, () =>
        {
            deployment.Kill(killed);
            var killedAt = Stopwatch.GetTimestamp();
            if (driver is Roster.RosterDriver roster)
            {
                leasesOwned = WaitForLeasesOwnedAsync(roster, instances, killedAt, cancellationToken);
            }
        });
        var propagation = await driver.RunChangesAsync(settings.Changes, settings.ChangesPerSecond, fault, cancellationToken).ConfigureAwait(false);
        var leasesOwnedMs = leasesOwned is null ? double.NaN : await leasesOwned.ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(settings.TtlSeconds + 5), cancellationToken).ConfigureAwait(false);
        var spurious = await driver.SpuriousDeletesAsync(cancellationToken).ConfigureAwait(false) - spuriousBefore;
        var found = await driver.CountInstancesAsync(cancellationToken).ConfigureAwait(false);
        var recovered = propagation.RecoveryMs.Where(ms => !double.IsNaN(ms)).ToArray();
        var sorted = propagation.LatenciesMs.Order().ToArray();
        return new MemberFailureResult(killed, settings.Changes, propagation.LongestWriteMs, Stats.Median(recovered),
            recovered.DefaultIfEmpty(double.NaN).Max(), propagation.RecoveryMs.Length - recovered.Length, Stats.Percentile(sorted, 99),
            propagation.MissedPerWatcher.Sum(), leasesOwnedMs, spurious, instances, found);
    }

    /// <summary>Milliseconds from the kill until the surviving nodes own at least every provider's lease (NaN: not within 60 s).</summary>
    private static async Task<double> WaitForLeasesOwnedAsync(Roster.RosterDriver driver, int instances, long killedAt, CancellationToken cancellationToken)
    {
        // W3's writer holds up to a block of leases of its own, fewer than one provider's: the sum reaching W1's
        // instances means every provider's batch of leases has a new owner.
        while (Stopwatch.GetElapsedTime(killedAt) < TimeSpan.FromSeconds(60))
        {
            if (await driver.OwnedLeasesAsync(cancellationToken).ConfigureAwait(false) >= instances)
            {
                return Stopwatch.GetElapsedTime(killedAt).TotalMilliseconds;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return double.NaN;
    }

    private async Task RunMemoryAsync(PeerResult result, CancellationToken cancellationToken)
    {
        var (deployment, _) = await PeerDeployment.StartAsync(peer, members: 1, Path.Combine(workDirectory, $"{peer}-{run}-memory"), ServerCpuOrNone, cancellationToken).ConfigureAwait(false);
        await using var running = deployment;
        var server = deployment.Members[0];
        var before = server.ResidentBytes();
        await using (var driver = NewDriver(deployment, settings.MemoryInstances))
        {
            var perProvider = settings.MemoryInstances / settings.Providers;
            var clock = Stopwatch.StartNew();
            await driver.RegisterAsync(settings.Providers, perProvider, MemoryTtlSeconds, keepAlive: false, cancellationToken).ConfigureAwait(false);
            var rate = settings.MemoryInstances / clock.Elapsed.TotalSeconds;
            var found = await driver.CountInstancesAsync(cancellationToken).ConfigureAwait(false);
            // Let background work (compaction, checkpoints, GC) settle, as a registry at rest would.
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            var after = server.ResidentBytes();
            result.W4 = new MemoryResult((int)found, before, after, (after - before) / (double)found, rate);
        }

        Log($"W4 {result.W4.Instances} instances: RSS {result.W4.RssBeforeBytes / 1e6:0} → {result.W4.RssAfterBytes / 1e6:0} MB, {result.W4.RssBytesPerInstance:0} B each");
    }

    private int? ServerCpuOrNone => settings.Pin && Environment.ProcessorCount >= 2 ? ServerCpu : null;

    private IPeerDriver NewDriver(PeerDeployment deployment, int providerInstances) => peer switch
    {
        "roster" => new Roster.RosterDriver(deployment.Addresses, providerInstances),
        "etcd" => new Etcd.EtcdDriver(deployment.Addresses),
        _ => new ZooKeeper.ZooKeeperDriver([.. deployment.Members.Select(m => m.Port)], workDirectory),
    };

    private void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {peer} run {run}: {message}");
}
