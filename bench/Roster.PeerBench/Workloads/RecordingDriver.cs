using System.Diagnostics;

namespace Roster.PeerBench.Workloads;

/// <summary>
/// The part of a driver that is the same for every in-process client: W3's paced writer and the
/// matching of receipts to acknowledgements, W5's wait for the holder's deletes, W6's spurious deletes.
/// Subclasses supply the registry calls.
/// </summary>
internal abstract class RecordingDriver : IPeerDriver
{
    private readonly List<WatchRecorder> _recorders = [];
    private long _holderKilledAt;

    public abstract int LostRegistrations { get; }

    protected IReadOnlyList<WatchRecorder> Recorders => _recorders;

    public abstract Task<double[]> RegisterAsync(int providers, int instancesPerProvider, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken);

    public abstract Task<long> CountInstancesAsync(CancellationToken cancellationToken);

    public abstract ProcessStartInfo HolderProcess(int instances, int ttlSeconds);

    /// <summary>In the holder process: one provider registers <paramref name="instances"/> (W5's) and keeps them alive.</summary>
    public abstract Task HoldAsync(int instances, int ttlSeconds, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    public async Task OpenWatchersAsync(int watchers, CancellationToken cancellationToken)
    {
        var opening = new List<Task>();
        for (var i = 0; i < watchers; i++)
        {
            var recorder = new WatchRecorder();
            _recorders.Add(recorder);
            opening.Add(OpenWatcherAsync(recorder, cancellationToken));
        }

        await Task.WhenAll(opening).ConfigureAwait(false);
    }

    /// <summary>Opens one watcher: full list first, then a live watch feeding <paramref name="recorder"/>; returns when it is live.</summary>
    protected abstract Task OpenWatcherAsync(WatchRecorder recorder, CancellationToken cancellationToken);

    /// <summary>Prepares the writer (a connection, a lease or session with a long life).</summary>
    protected abstract Task PrepareWriterAsync(CancellationToken cancellationToken);

    /// <summary>Creates or deletes W3's instance <paramref name="key"/> and returns once the registry acknowledged it.</summary>
    protected abstract Task WriteChangeAsync(int key, bool delete, CancellationToken cancellationToken);

    public async Task<PropagationResult> RunChangesAsync(int changes, int perSecond, CancellationToken cancellationToken)
    {
        await PrepareWriterAsync(cancellationToken).ConfigureAwait(false);
        var keys = (changes + 1) / 2 + Naming.ChangeBlock;
        foreach (var recorder in _recorders)
        {
            recorder.PrepareChanges(keys);
        }

        var createdAck = new long[keys];
        var deletedAck = new long[keys];
        var start = Stopwatch.GetTimestamp();
        for (var change = 0; change < changes; change++)
        {
            // Open loop: change n is due at start + n / rate, whatever the previous one cost.
            var due = start + change * Stopwatch.Frequency / perSecond;
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            var (key, delete) = Naming.ChangeAt(change);
            await WriteChangeAsync(key, delete, cancellationToken).ConfigureAwait(false);
            (delete ? deletedAck : createdAck)[key] = Stopwatch.GetTimestamp();
        }

        // Give every watcher up to 5 s after the last write to receive everything.
        var deadline = Stopwatch.GetTimestamp() + 5 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline && _recorders.Any(r => Missed(r, changes, createdAck, deletedAck) > 0))
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        var latencies = new List<double>(changes * _recorders.Count);
        var missed = new int[_recorders.Count];
        for (var w = 0; w < _recorders.Count; w++)
        {
            var recorder = _recorders[w];
            missed[w] = Missed(recorder, changes, createdAck, deletedAck);
            for (var change = 0; change < changes; change++)
            {
                var (key, delete) = Naming.ChangeAt(change);
                var received = delete ? recorder.DeletedAt(key) : recorder.CreatedAt(key);
                var acknowledged = delete ? deletedAck[key] : createdAck[key];
                if (received != 0)
                {
                    // An event can overtake the writer's own acknowledgement; that counts as no delay.
                    latencies.Add(Math.Max(0, Stopwatch.GetElapsedTime(acknowledged, received).TotalMilliseconds));
                }
            }
        }

        return new PropagationResult([.. latencies], missed, changes);
    }

    public Task MarkHolderKilledAsync(CancellationToken cancellationToken)
    {
        _holderKilledAt = Stopwatch.GetTimestamp();
        return Task.CompletedTask;
    }

    public async Task<double[]> WaitForHolderGoneAsync(int instances, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until && _recorders.Any(r => r.HolderDeletes < instances))
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }

        return [.. _recorders.Select(r => r.HolderDeletes >= instances
            ? Stopwatch.GetElapsedTime(_holderKilledAt, r.LastHolderDelete).TotalSeconds
            : double.NaN)];
    }

    public Task<long> SpuriousDeletesAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_recorders.Sum(r => r.SpuriousDeletes));

    private static int Missed(WatchRecorder recorder, int changes, long[] createdAck, long[] deletedAck)
    {
        var missed = 0;
        for (var change = 0; change < changes; change++)
        {
            var (key, delete) = Naming.ChangeAt(change);
            if ((delete ? recorder.DeletedAt(key) : recorder.CreatedAt(key)) == 0)
            {
                missed++;
            }
        }

        return missed;
    }
}
