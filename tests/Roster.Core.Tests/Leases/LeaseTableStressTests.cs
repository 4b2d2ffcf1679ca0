using System.Collections.Concurrent;
using Roster.Core.Leases;
using Roster.Core.Model;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Leases;

public sealed class LeaseTableStressTests
{
    /// <summary>
    /// Renewals from many threads, leases added and removed by one "applier" thread, and an "expiry"
    /// thread collecting due leases while time moves: renewed leases are never reported, removed leases
    /// are never reported, and a lease that stops being renewed is reported.
    /// </summary>
    [Fact]
    public async Task ConcurrentRenewPutRemoveAndCollect_ReportsExactlyTheLeasesThatStoppedRenewing()
    {
        var time = new ManualTimeProvider();

        // Off the wheel's slot boundaries, as a real clock is.
        time.Advance(TimeSpan.FromMilliseconds(37));
        var table = new LeaseTable(time);
        const int kept = 2000;
        const int abandoned = 300;
        var instances = Enumerable.Range(0, kept + abandoned)
            .Select(i => (Key: new InstanceKey("ns", "svc", $"i{i}"), Record: new InstanceRecord($"i{i}", Registrations.Ephemeral(ttlSeconds: 10), OperatorState.None, i + 1, i + 1)))
            .ToArray();
        foreach (var (key, record) in instances)
        {
            table.Put(key, record);
        }

        using var stop = new CancellationTokenSource();
        var wronglyReported = new ConcurrentBag<string>();
        var reported = new ConcurrentDictionary<long, bool>();
        var removed = new ConcurrentDictionary<long, bool>();

        // Dedicated threads: spinning renewers must not starve the thread pool the test runs on.
        var renewers = Enumerable.Range(0, 6).Select(t => Task.Factory.StartNew(() =>
        {
            var random = new Random(t);
            while (!stop.IsCancellationRequested)
            {
                var i = random.Next(kept);
                Assert.True(table.TryRenew(instances[i].Key, instances[i].Record.Incarnation));
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        // The applier: churns a separate set of leases in and out.
        var churn = Task.Factory.StartNew(() =>
        {
            for (var n = 0; n < 20_000 && !stop.IsCancellationRequested; n++)
            {
                var record = new InstanceRecord($"c{n}", Registrations.Ephemeral(ttlSeconds: 10), OperatorState.None, 1_000_000 + n, 1_000_000 + n);
                table.Put(new InstanceKey("ns", "churn", $"c{n}"), record);
                removed[record.Incarnation] = true;
                table.Remove(record.Incarnation);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        // The expiry pass, with time moving 0.023 s per pass (never in step with the slots): 870 passes
        // is 20 s, two TTLs.
        var due = new List<Lease>();
        for (var pass = 0; pass < 870; pass++)
        {
            // The renewer threads renew at random; this makes sure every kept lease is renewed within a TTL.
            foreach (var (key, record) in instances.Take(kept))
            {
                table.TryRenew(key, record.Incarnation);
            }

            time.Advance(TimeSpan.FromSeconds(0.023));
            due.Clear();
            table.CollectDue(due);
            foreach (var lease in due)
            {
                lease.MarkExpiryRequested();
                if (lease.Incarnation <= kept || removed.ContainsKey(lease.Incarnation))
                {
                    wronglyReported.Add($"{lease.Key} reported due");
                }

                reported[lease.Incarnation] = true;
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(renewers.Append(churn));
        Assert.Empty(wronglyReported);
        Assert.Equal(Enumerable.Range(kept + 1, abandoned).Select(i => (long)i), reported.Keys.Order());
        Assert.Equal(kept + abandoned, table.CountIn("ns"));
    }
}

public sealed class LeaseTableTests
{
    /// <summary>
    /// Real clocks are not aligned to the wheel's slots: a lease due later within the slot being looked
    /// at must wait for the next pass, not be looked at again and again in this one.
    /// </summary>
    [Fact]
    public async Task LeaseDueLaterInTheCurrentSlot_IsNotReportedEarly_AndIsReportedOnceDue()
    {
        var time = new ManualTimeProvider();
        time.Advance(TimeSpan.FromMilliseconds(37));
        var table = new LeaseTable(time);
        var record = new InstanceRecord("i1", Registrations.Ephemeral(ttlSeconds: 10), OperatorState.None, 1, 1);
        table.Put(new InstanceKey("ns", "svc", "i1"), record);
        var due = new List<Lease>();

        // Just before the lease is due, in the same 100 ms slot as its due time.
        time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(20));
        await Task.Run(() => table.CollectDue(due)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(due);

        time.Advance(TimeSpan.FromMilliseconds(150));
        await Task.Run(() => table.CollectDue(due)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, Assert.Single(due).Incarnation);
    }
}

public sealed class LeaseRenewalTests
{
    [Fact]
    public void Renew_AfterExpiryWasHandedToTheLog_IsRefused_UntilThatExpiryFails()
    {
        var time = new ManualTimeProvider();
        time.Advance(TimeSpan.FromMilliseconds(13));
        var table = new LeaseTable(time);
        var key = new InstanceKey("ns", "svc", "i1");
        table.Put(key, new InstanceRecord("i1", Registrations.Ephemeral(ttlSeconds: 10), OperatorState.None, 7, 7));
        time.Advance(TimeSpan.FromSeconds(11));
        var due = new List<Lease>();
        table.CollectDue(due);
        var lease = Assert.Single(due);

        lease.MarkExpiryRequested();
        Assert.False(table.TryRenew(key, 7));

        // The append failed: the lease is live again and renewals work.
        lease.ClearExpiryRequested();
        Assert.True(table.TryRenew(key, 7));
        Assert.False(table.TryRenew(key, 8));
    }
}
