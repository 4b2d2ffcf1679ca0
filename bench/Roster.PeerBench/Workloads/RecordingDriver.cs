using System.Collections.Concurrent;
using System.Diagnostics;

namespace Roster.PeerBench.Workloads;

/// <summary>
/// The part of a driver that is the same for every in-process client: W3's paced writer and the
/// matching of receipts to acknowledgements, W5's wait for the holder's deletes, W6's spurious deletes;
/// the providers, their keep-alive loops and the watchers' receive loops, all stopped on disposal.
/// Subclasses supply the registry calls.
/// </summary>
internal abstract class RecordingDriver : IPeerDriver
{
    private readonly List<WatchRecorder> _recorders = [];
    private readonly List<IProvider> _providers = [];
    private readonly ConcurrentQueue<Task> _loops = new();
    private readonly CancellationTokenSource _stopping = new();
    private long _holderKilledAt;
    private int _lost;

    /// <summary>One provider process: its own connection, its instances, its keep-alive.</summary>
    protected interface IProvider : IDisposable
    {
        /// <summary>Registers instances 0 to <paramref name="count"/> − 1, one after another; each one's latency in microseconds.</summary>
        Task<double[]> RegisterAllAsync(int count, CancellationToken cancellationToken);

        /// <summary>Renews every TTL/3 until cancelled; registers again (calling <paramref name="onLost"/> per instance) what the registry dropped.</summary>
        Task KeepAliveAsync(Action onLost, CancellationToken cancellationToken);
    }

    public int LostRegistrations => Volatile.Read(ref _lost);

    /// <summary>A new provider; <paramref name="idOf"/> names its instances (provider instances when null).</summary>
    protected abstract IProvider NewProvider(int index, int ttlSeconds, Func<int, string>? idOf);

    /// <summary>
    /// Watcher <paramref name="watcher"/>'s receive loop: full list, then changes into <paramref name="recorder"/>;
    /// completes <paramref name="live"/> once watching. It starts at <see cref="WatcherMember"/> and moves to
    /// the next member when its member fails.
    /// </summary>
    protected abstract Task WatchLoopAsync(int watcher, WatchRecorder recorder, TaskCompletionSource live, CancellationToken cancellationToken);

    /// <summary>
    /// Where clients start in a cluster of <paramref name="members"/>: W3's writer and W5's holder at member 0,
    /// provider <c>p</c> at member <c>p mod members</c>, watchers spread over the other members, so every
    /// change W3 measures travels from one member to another.
    /// </summary>
    protected static int WatcherMember(int watcher, int members) => members == 1 ? 0 : 1 + (watcher % (members - 1));

    /// <inheritdoc cref="WatcherMember"/>
    protected static int ProviderMember(int provider, int members) => Math.Max(0, provider) % members;

    public abstract Task<long> CountInstancesAsync(CancellationToken cancellationToken);

    public abstract ProcessStartInfo HolderProcess(int instances, int ttlSeconds);

    public async Task<double[]> RegisterAsync(int providers, int instancesPerProvider, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken)
    {
        var batch = Enumerable.Range(_providers.Count, providers).Select(p => NewProvider(p, ttlSeconds, idOf: null)).ToList();
        _providers.AddRange(batch);
        var latencies = await Task.WhenAll(batch.Select(p => RegisterThenKeepAliveAsync(p, instancesPerProvider, keepAlive, cancellationToken))).ConfigureAwait(false);
        return [.. latencies.SelectMany(l => l)];
    }

    /// <summary>In the holder process: one provider registers <paramref name="instances"/> (W5's) and keeps them alive.</summary>
    public async Task HoldAsync(int instances, int ttlSeconds, CancellationToken cancellationToken)
    {
        var holder = NewProvider(0, ttlSeconds, Naming.HolderInstance);
        _providers.Add(holder);
        await RegisterThenKeepAliveAsync(holder, instances, keepAlive: true, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        DisposeWriter();
        _stopping.Dispose();
    }

    /// <summary>Releases W3's writer, if one was made.</summary>
    protected abstract void DisposeWriter();

    /// <summary>A provider renews from the moment its own instances are registered, as a real one does.</summary>
    private async Task<double[]> RegisterThenKeepAliveAsync(IProvider provider, int count, bool keepAlive, CancellationToken cancellationToken)
    {
        var latencies = await provider.RegisterAllAsync(count, cancellationToken).ConfigureAwait(false);
        if (keepAlive)
        {
            _loops.Enqueue(provider.KeepAliveAsync(() => Interlocked.Increment(ref _lost), _stopping.Token));
        }

        return latencies;
    }

    public async Task OpenWatchersAsync(int watchers, CancellationToken cancellationToken)
    {
        var opening = new List<Task>();
        for (var i = 0; i < watchers; i++)
        {
            var recorder = new WatchRecorder();
            _recorders.Add(recorder);
            opening.Add(OpenWatcherAsync(_recorders.Count - 1, recorder, cancellationToken));
        }

        await Task.WhenAll(opening).ConfigureAwait(false);
    }

    private async Task OpenWatcherAsync(int watcher, WatchRecorder recorder, CancellationToken cancellationToken)
    {
        var live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loops.Enqueue(WatchLoopAsync(watcher, recorder, live, _stopping.Token));
        await live.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prepares the writer (a connection, a lease or session with a long life).</summary>
    protected abstract Task PrepareWriterAsync(CancellationToken cancellationToken);

    /// <summary>Creates or deletes W3's instance <paramref name="key"/> and returns once the registry acknowledged it.</summary>
    protected abstract Task WriteChangeAsync(int key, bool delete, CancellationToken cancellationToken);

    public async Task<PropagationResult> RunChangesAsync(int changes, int perSecond, ChangeFault? fault, CancellationToken cancellationToken)
    {
        await PrepareWriterAsync(cancellationToken).ConfigureAwait(false);
        var keys = (changes + 1) / 2 + Naming.ChangeBlock;
        foreach (var recorder in _recorders)
        {
            recorder.PrepareChanges(keys);
        }

        var createdAck = new long[keys];
        var deletedAck = new long[keys];
        var longestWrite = TimeSpan.Zero;
        long faultAt = 0;
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
            var writing = Stopwatch.GetTimestamp();
            await WriteChangeAsync(key, delete, cancellationToken).ConfigureAwait(false);
            var acknowledged = Stopwatch.GetTimestamp();
            (delete ? deletedAck : createdAck)[key] = acknowledged;
            longestWrite = TimeSpan.FromTicks(Math.Max(longestWrite.Ticks, Stopwatch.GetElapsedTime(writing, acknowledged).Ticks));
            if (fault is not null && change == fault.AfterChange)
            {
                fault.Inject();
                faultAt = Stopwatch.GetTimestamp();
            }
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

        var recovery = fault is null ? [] : _recorders.Select(r => RecoveryMs(r, changes, faultAt, createdAck, deletedAck)).ToArray();
        return new PropagationResult([.. latencies], missed, changes, longestWrite.TotalMilliseconds, recovery);
    }

    /// <summary>From the fault to the watcher's first receipt of a change acknowledged after it, in ms; NaN when it received none.</summary>
    private static double RecoveryMs(WatchRecorder recorder, int changes, long faultAt, long[] createdAck, long[] deletedAck)
    {
        var first = long.MaxValue;
        for (var change = 0; change < changes; change++)
        {
            var (key, delete) = Naming.ChangeAt(change);
            var received = delete ? recorder.DeletedAt(key) : recorder.CreatedAt(key);
            if ((delete ? deletedAck : createdAck)[key] > faultAt && received != 0)
            {
                first = Math.Min(first, received);
            }
        }

        return first == long.MaxValue ? double.NaN : Stopwatch.GetElapsedTime(faultAt, first).TotalMilliseconds;
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
