using Roster.Core.Leases;
using Roster.Core.Log;

namespace Roster.Core.Node;

public sealed partial class RegistryNode
{
    // Owned by the expiry loop alone: expiries handed to the log per namespace, with when.
    private readonly Dictionary<string, Queue<(long Timestamp, int Count)>> _recentExpiries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _selfPreserving = new(StringComparer.Ordinal);

    private async Task RunExpiryAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ExpiryScanInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                SweepOverdueWrites();
                if (IsReady)
                {
                    await ExpireDueLeasesAsync(cancellationToken).ConfigureAwait(false);
                    await AdoptSilentOwnersSafelyAsync(cancellationToken).ConfigureAwait(false);
                }

                _expiryHealth.Progressed(_time);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One expiry pass: finds leases that ran out and writes their expiry to the log, in one batch,
    /// unless self-preservation holds a namespace back. Returns how many expiries were written.
    /// Called by the expiry loop (and by tests that drive time by hand), never concurrently.
    /// </summary>
    internal async Task<int> ExpireDueLeasesAsync(CancellationToken cancellationToken)
    {
        var due = new List<Lease>();
        var examinedEveryDueLease = Leases.CollectDue(due);
        var now = _time.GetTimestamp();
        var window = (long)(_options.DefaultTtl.TotalSeconds * _time.TimestampFrequency);

        var expiring = new List<Lease>();
        var stillPreserving = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in due.GroupBy(l => l.Key.Namespace, StringComparer.Ordinal))
        {
            var recent = RecentExpiries(group.Key, now - window);
            var wouldExpire = group.Count() + recent;
            var population = LeasedInstancesIn(group.Key) + recent;
            if (wouldExpire > _options.SelfPreservationMinimum && wouldExpire > _options.SelfPreservationThreshold * population)
            {
                // Too many at once looks like a network problem, not mass death: keep them.
                stillPreserving.Add(group.Key);
                if (_selfPreserving.Add(group.Key))
                {
                    LogSelfPreservationStarted(_logger, group.Key, wouldExpire, population);
                }

                continue;
            }

            expiring.AddRange(group);
            RecordExpiries(group.Key, now, group.Count());
        }

        // A namespace leaves self-preservation only after a pass that looked at all of its held-back leases again.
        foreach (var ns in _selfPreserving.Where(ns => examinedEveryDueLease && !stillPreserving.Contains(ns)).ToList())
        {
            _selfPreserving.Remove(ns);
            LogSelfPreservationEnded(_logger, ns);
        }

        Metrics.SetSelfPreserving(_selfPreserving);
        if (expiring.Count == 0)
        {
            return 0;
        }

        var changes = new ChangeEnvelope[expiring.Count];
        var acceptedAt = AcceptedNow();
        for (var i = 0; i < expiring.Count; i++)
        {
            expiring[i].MarkExpiryRequested();
            changes[i] = new ChangeEnvelope(NodeId, 0, new ExpireChange(expiring[i].Key, expiring[i].Incarnation), acceptedAt);
        }

        try
        {
            // One append for the whole pass: one fsync, and watchers get the deletes back to back.
            await _storage.Log.AppendAsync(changes, cancellationToken)
                .WaitAsync(_options.WriteTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or LogUnavailableException)
        {
            // Nothing expires while the log cannot take it (a cluster node without its bus keeps every lease).
            if (ex is IOException and not LogAppendUncertainException)
            {
                OnAppendFailed(ex);
            }

            foreach (var lease in expiring)
            {
                lease.ClearExpiryRequested();
            }

            LogExpiryFailed(_logger, ex, expiring.Count);
            return 0;
        }

        OnAppendSucceeded();
        Metrics.AddExpired(expiring.Count);
        LogExpired(_logger, expiring.Count);
        return expiring.Count;
    }

    private async Task AdoptSilentOwnersSafelyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await AdoptSilentOwnersAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or LogUnavailableException)
        {
            // The next scan, one TTL later, tries again; meanwhile the silent owner's instances stay.
            LogAdoptionFailed(_logger, ex);
        }
    }

    /// <summary>
    /// The leased instances of <paramref name="namespace"/> that self-preservation weighs expiries against: on a
    /// single node the leases it holds (one lookup); in a cluster every leased instance of the namespace,
    /// whichever node owns it (counted from the state, only on a pass that has something to expire), so a node
    /// that adopted a dead node's leases does not mistake their expiry for a network problem.
    /// </summary>
    private int LeasedInstancesIn(string @namespace)
    {
        if (_storage.Membership is null)
        {
            return Leases.CountIn(@namespace);
        }

        if (!State.Namespaces.TryGetValue(@namespace, out var ns))
        {
            return 0;
        }

        var count = 0;
        foreach (var service in ns.Services.Values)
        {
            foreach (var instance in service.Instances.Values)
            {
                if (instance.Registration.Kind == Model.InstanceKind.Ephemeral)
                {
                    count++;
                }
            }
        }

        return count;
    }

    private int RecentExpiries(string @namespace, long since)
    {
        if (!_recentExpiries.TryGetValue(@namespace, out var queue))
        {
            return 0;
        }

        while (queue.Count > 0 && queue.Peek().Timestamp < since)
        {
            queue.Dequeue();
        }

        return queue.Sum(e => e.Count);
    }

    private void RecordExpiries(string @namespace, long now, int count)
    {
        if (!_recentExpiries.TryGetValue(@namespace, out var queue))
        {
            queue = new Queue<(long, int)>();
            _recentExpiries[@namespace] = queue;
        }

        queue.Enqueue((now, count));
    }
}
