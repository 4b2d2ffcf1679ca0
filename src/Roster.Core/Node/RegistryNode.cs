using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Roster.Core.Leases;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.StateMachine;
using Roster.Core.Watch;

namespace Roster.Core.Node;

/// <summary>
/// One registry node: accepts changes, appends them to the change log, applies the log in order with a
/// single applier, and publishes the result to readers and watchers.
/// <para>
/// Write path: <see cref="SubmitAsync(Change, WriteAuthor?, CancellationToken)"/> queues the change for the appender loop, which appends what
/// is queued as one batch; the caller waits until the applier has applied it, so it reads its own write. The outcome (created, stale incarnation, ...) is decided at
/// apply time, which is what keeps every node that applies the same log in agreement.
/// </para>
/// </summary>
public sealed partial class RegistryNode : IAsyncDisposable
{
    private const int MaxWritesPerAppend = 4096;

    private readonly NodeStorage _storage;
    private readonly RegistryNodeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RegistryStateMachine _machine;
    private readonly ConcurrentDictionary<long, PendingWrite> _waiters = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Writes waiting for the appender loop (see RunAppenderAsync).
    private readonly Channel<PendingWrite> _submissions =
        Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });

    private long _nextRequestId;
    private Task _applier = Task.CompletedTask;
    private Task _expiry = Task.CompletedTask;
    private Task _keepAlive = Task.CompletedTask;
    private Task _appender = Task.CompletedTask;
    private Task _catchUp = Task.CompletedTask;
    private int _disposed;
    private string? _fault;
    private string? _storageProblem;

    private RegistryNode(NodeStorage storage, RegistryNodeOptions options, TimeProvider time, ILogger logger)
    {
        _storage = storage;
        _options = options;
        _time = time;
        _logger = logger;
        var checkpoint = storage.Latest;
        var initial = checkpoint?.State ?? RegistryState.Empty;
        _machine = new RegistryStateMachine(initial);
        _lastCheckpointRevision = initial.Revision;
        Watches = new WatchHub(
            initial,
            storage.Identity.RegistryId,
            options.WatchHistorySize,
            options.WatchQueueCapacity,
            checkpoint?.History,
            checkpoint?.HistoryCoveredFrom ?? -1);
        Leases = new LeaseTable(time);

        // Request ids only need to be unique among this process's pending writes; a random start keeps
        // them apart from ids a previous process left in the log.
        _nextRequestId = Random.Shared.NextInt64(1, long.MaxValue / 2);
    }

    public string RegistryId => _storage.Identity.RegistryId;

    public string NodeId => _storage.Identity.NodeId;

    public RegistryNodeOptions Options => _options;

    /// <summary>The change log this node appends to and applies from.</summary>
    internal IChangeLog Log => _storage.Log;

    /// <summary>The latest applied state. Immutable; reading it never locks.</summary>
    public RegistryState State => Watches.State;

    public WatchHub Watches { get; }

    public LeaseTable Leases { get; }

    public NodeMetrics Metrics { get; } = new();

    /// <summary>Writes accepted by this node and not yet applied: queued, or on their way through the log.</summary>
    public int PendingWrites => _waiters.Count;

    /// <summary>True once the node has applied the whole log it found at start. Before that it serves
    /// no watches and accepts no writes: an unready node pushing a partial list empties clients' lists.</summary>
    public bool IsReady => _ready.Task.IsCompleted && Fault is null;

    /// <summary>Why the node is unhealthy (one of its loops stopped on an error); null while it is healthy.
    /// An unhealthy node accepts no writes and reports not ready: a restart is needed.</summary>
    public string? Fault => Volatile.Read(ref _fault) ?? StorageLoopFault();

    /// <summary>The node's loops and its storage's (a cluster's bus connections), each with its state and last progress
    /// (for the debug dump).</summary>
    public IReadOnlyList<LoopHealth> Loops => [_applierHealth, _appenderHealth, _expiryHealth, _keepAliveHealth, _catchUpHealth, .. _storage.Loops];

    private readonly LoopHealth _applierHealth = new("applier");
    private readonly LoopHealth _appenderHealth = new("appender");
    private readonly LoopHealth _expiryHealth = new("expiry");
    private readonly LoopHealth _keepAliveHealth = new("keep-alive");
    private readonly LoopHealth _catchUpHealth = new("catch-up");

    public Task WhenReady => _ready.Task;

    /// <summary>Starts a node on <paramref name="storage"/>: restores the newest checkpoint, then replays the log.</summary>
    public static async Task<RegistryNode> StartAsync(
        NodeStorage storage, RegistryNodeOptions options, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        var node = new RegistryNode(storage, options, time, logger);
        await node.StartLoopsAsync(cancellationToken).ConfigureAwait(false);
        return node;
    }

    // Completed and replaced after every applied batch while callers wait for a revision (_catchUpWaiters), so
    // they wake once per batch with neither a lock nor a list of waiters.
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _catchUpWaiters;

    /// <summary>
    /// Waits until this node has applied <paramref name="revision"/>, when the log holds it: a node that is
    /// behind (a client failed over to it from a node that had applied more) is not a registry that lost
    /// data. Returns false at once when the revision is beyond the log's end (data was lost: the caller then
    /// answers as it would without waiting), or when it is not applied within
    /// <see cref="RegistryNodeOptions.CatchUpTimeout"/>.
    /// </summary>
    public async Task<bool> CatchUpToAsync(long revision, CancellationToken cancellationToken)
    {
        if (State.Revision >= revision)
        {
            return true;
        }

        if (revision > await LastPositionOrZeroAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var started = _time.GetTimestamp();
        Interlocked.Increment(ref _catchUpWaiters);
        try
        {
            while (true)
            {
                // Read the signal before the state: the applier publishes the state before it completes the signal.
                var applied = Volatile.Read(ref _applied).Task;
                if (State.Revision >= revision)
                {
                    return true;
                }

                var remaining = _options.CatchUpTimeout - _time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    return false;
                }

                try
                {
                    await applied.WaitAsync(remaining, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return State.Revision >= revision;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _catchUpWaiters);
        }
    }

    /// <summary>How far the log reaches; 0 when it cannot be reached now (the caller then decides from what it has).</summary>
    private async Task<long> LastPositionOrZeroAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _storage.Log.GetLastPositionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (LogUnavailableException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Appends <paramref name="change"/> and waits until it is applied. Fails with
    /// <see cref="NodeNotReadyException"/> before the node has caught up, and with
    /// <see cref="TimeoutException"/> when the write is not applied within <see cref="RegistryNodeOptions.WriteTimeout"/>.
    /// </summary>
    public Task<ApplyOutcome> SubmitAsync(Change change, CancellationToken cancellationToken) => SubmitAsync(change, author: null, cancellationToken);

    /// <summary>
    /// <see cref="SubmitAsync(Change, CancellationToken)"/> for a caller the audit names: <paramref name="author"/>
    /// goes into the log with the change.
    /// </summary>
    public Task<ApplyOutcome> SubmitAsync(Change change, WriteAuthor? author, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (!IsReady)
        {
            return Task.FromException<ApplyOutcome>(new NodeNotReadyException());
        }

        // The common case decides without waiting: kept apart from the catch-up path below, so a write that
        // goes to the log carries none of that path's state.
        if (ExpectedIncarnationOf(change) <= State.Revision)
        {
            var answered = AnswerWithoutLog(change);
            if (answered is null)
            {
                return AppendAndWaitAsync(change, author, cancellationToken);
            }

            if (answered is not { Status: OutcomeStatus.NotFound or OutcomeStatus.StaleIncarnation })
            {
                return Task.FromResult(answered.Value);
            }
        }

        return CatchUpThenSubmitAsync(change, author, cancellationToken);
    }

    /// <summary>
    /// A write that names an incarnation this node has not applied, or that its state would refuse: if the
    /// log holds changes it has not applied yet (in a cluster, the instance may have just been registered at
    /// another node), catch up, then decide.
    /// </summary>
    private async Task<ApplyOutcome> CatchUpThenSubmitAsync(Change change, WriteAuthor? author, CancellationToken cancellationToken)
    {
        var expected = ExpectedIncarnationOf(change);
        if (expected > State.Revision)
        {
            await CatchUpToAsync(expected, cancellationToken).ConfigureAwait(false);
        }

        var answered = AnswerWithoutLog(change);
        if (answered is { Status: OutcomeStatus.NotFound or OutcomeStatus.StaleIncarnation })
        {
            var end = await LastPositionOrZeroAsync(cancellationToken).ConfigureAwait(false);
            if (end > State.Revision && await CatchUpToAsync(end, cancellationToken).ConfigureAwait(false))
            {
                answered = AnswerWithoutLog(change);
            }
        }

        return answered ?? await AppendAndWaitAsync(change, author, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The wall-clock time a change appended now carries (Unix milliseconds), for people to read.</summary>
    private long AcceptedNow() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Queues <paramref name="change"/> for the appender and waits for the applier's answer.</summary>
    private async Task<ApplyOutcome> AppendAndWaitAsync(Change change, WriteAuthor? author, CancellationToken cancellationToken)
    {
        var requestId = Interlocked.Increment(ref _nextRequestId);
        var pending = new PendingWrite(new ChangeEnvelope(NodeId, requestId, change, AcceptedNow(), author), _time.GetTimestamp());
        _waiters[requestId] = pending;
        try
        {
            // The appender loop takes it from here; the applier answers it. No timer per write: the
            // deadline is enforced by SweepOverdueWrites on the expiry loop.
            if (!_submissions.Writer.TryWrite(pending))
            {
                throw new NodeNotReadyException();
            }

            return await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _waiters.TryRemove(requestId, out _);
        }
    }

    /// <summary>
    /// Hands submitted writes to the log in batches: a burst costs one append (and one continuation) per
    /// batch instead of per write, and a failed append fails exactly the writes that were in it.
    /// </summary>
    private async Task RunAppenderAsync(CancellationToken cancellationToken)
    {
        var batch = new List<PendingWrite>();
        var reader = _submissions.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxWritesPerAppend && reader.TryRead(out var write))
                {
                    if (!write.Task.IsCompleted)
                    {
                        batch.Add(write);
                    }
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                var envelopes = new ChangeEnvelope[batch.Count];
                for (var i = 0; i < envelopes.Length; i++)
                {
                    envelopes[i] = batch[i].Envelope;
                }

                // Not awaited: the log keeps appends in order and commits whatever is queued together, so
                // the next batch can go while this one is being made durable. Failure fails this batch.
                var writes = batch.ToArray();
                _appenderHealth.Progressed(_time);
                _ = _storage.Log.AppendAsync(envelopes, CancellationToken.None).ContinueWith(
                    static (append, state) =>
                    {
                        var (node, writes, started) = ((RegistryNode, PendingWrite[], long))state!;
                        if (append.IsCompletedSuccessfully)
                        {
                            Diagnostics.CoreTelemetry.LogAppendDuration.Record(node._time.GetElapsedTime(started).TotalSeconds);
                            node.OnAppendSucceeded();
                            return;
                        }

                        var error = append.Exception?.InnerException ?? new OperationCanceledException("The append was cancelled.");
                        if (error is LogAppendUncertainException)
                        {
                            // The batch may still be stored: its callers are answered by the applier if it
                            // is, or by their deadline if not. Never a wrong answer from here.
                            LogAppendUncertain(node._logger, error, writes.Length);
                            return;
                        }

                        if (error is IOException or UnauthorizedAccessException)
                        {
                            error = node.OnAppendFailed(error);
                        }
                        else if (error is not LogUnavailableException)
                        {
                            // A bus out of reach is reported by the log itself; anything else is logged here.
                            LogAppendFailed(node._logger, error, writes.Length);
                        }

                        foreach (var write in writes)
                        {
                            write.TrySetException(error);
                        }
                    },
                    (this, writes, _time.GetTimestamp()),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// What is wrong with the node's storage: null while writes succeed, <c>disk-full</c> or
    /// <c>write-failed</c> after a write failed, until one succeeds again. Writes keep being tried, so the node
    /// recovers by itself when space returns.
    /// </summary>
    public string? StorageProblem => Volatile.Read(ref _storageProblem);

    /// <summary>Notes a failed append (logged once per outage) and returns the exception its callers get.</summary>
    private StorageUnavailableException OnAppendFailed(Exception error)
    {
        var full = StorageUnavailableException.IsDiskFull(error);
        if (Interlocked.Exchange(ref _storageProblem, full ? "disk-full" : "write-failed") is null)
        {
            LogStorageFailing(_logger, error, full ? "the disk is full" : "the log cannot be written");
        }

        return new StorageUnavailableException(full, error);
    }

    private void OnAppendSucceeded()
    {
        if (Volatile.Read(ref _storageProblem) is not null && Interlocked.Exchange(ref _storageProblem, null) is { } was)
        {
            LogStorageRecovered(_logger, was);
        }
    }

    /// <summary>Fails writes that were not applied within <see cref="RegistryNodeOptions.WriteTimeout"/>.</summary>
    private void SweepOverdueWrites()
    {
        var overdue = _time.GetTimestamp() - (long)(_options.WriteTimeout.TotalSeconds * _time.TimestampFrequency);
        foreach (var (_, write) in _waiters)
        {
            if (write.StartedAt < overdue)
            {
                write.TrySetException(new TimeoutException($"The write was not applied within {_options.WriteTimeout}."));
            }
        }
    }

    /// <summary>A caller waiting for its change to be applied.</summary>
    private sealed class PendingWrite(ChangeEnvelope envelope, long startedAt)
        : TaskCompletionSource<ApplyOutcome>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ChangeEnvelope Envelope { get; } = envelope;

        public long StartedAt { get; } = startedAt;
    }

    /// <summary>
    /// Answers a change that the current state already decides, so it never reaches the log: a refusal
    /// (unknown instance, old incarnation) changes nothing, not even the revision, and an identical
    /// registration only renews its lease. The applier still decides every change that is appended;
    /// this only keeps certain answers off the write path.
    /// </summary>
    private ApplyOutcome? AnswerWithoutLog(Change change)
    {
        var state = State;
        var existing = state.FindInstance(change.Key);
        var expected = ExpectedIncarnationOf(change);
        if (existing is null && change is not RegisterChange { ExpectedIncarnation: 0 } && change is not ExpireChange)
        {
            return new ApplyOutcome(OutcomeStatus.NotFound, null, state.Revision);
        }

        if (existing is not null && expected != 0 && existing.Incarnation != expected)
        {
            return new ApplyOutcome(OutcomeStatus.StaleIncarnation, existing, state.Revision);
        }

        if (change is RegisterChange { ExpectedIncarnation: 0 } fresh
            && existing is not null
            && existing.Registration == fresh.Registration
            && (existing.Registration.Kind == InstanceKind.Persistent || Leases.TryRenew(change.Key, existing.Incarnation)))
        {
            return new ApplyOutcome(OutcomeStatus.Unchanged, existing, state.Revision);
        }

        return null;
    }

    /// <summary>The incarnation a change requires to be current; 0 when it names none.</summary>
    private static long ExpectedIncarnationOf(Change change) => change switch
    {
        RegisterChange register => register.ExpectedIncarnation,
        DeregisterChange deregister => deregister.ExpectedIncarnation,
        _ => 0,
    };

    /// <summary>
    /// Renews one instance's lease. Touches only this node's lease table: renewals never enter the log.
    /// </summary>
    public RenewStatus Renew(in InstanceKey key, long incarnation)
    {
        if (Leases.TryRenew(key, incarnation))
        {
            return RenewStatus.Ok;
        }

        var instance = State.FindInstance(key);
        if (instance is null || incarnation > instance.Incarnation)
        {
            // Newer than anything this registry knows: it lost data, so the client registers again.
            return RenewStatus.Unknown;
        }

        if (incarnation < instance.Incarnation)
        {
            return RenewStatus.StaleIncarnation;
        }

        // The current incarnation with no lease here: a persistent instance needs none.
        if (instance.Registration.Kind == InstanceKind.Persistent)
        {
            return RenewStatus.Ok;
        }

        if (!OwnsLease(instance))
        {
            // The provider failed over to this node: hold the lease here at once, and move its ownership with
            // a log entry, after which the old owner can no longer expire it.
            ClaimLease(key, instance);
            return RenewStatus.Ok;
        }

        return RenewStatus.Unknown;
    }

    /// <summary>Instances whose lease this node has claimed and whose claim it has not applied yet.</summary>
    private readonly ConcurrentDictionary<InstanceKey, long> _pendingClaims = new();

    /// <summary>
    /// Appends a claim of <paramref name="instance"/>'s lease, once per instance until it is applied or fails.
    /// The lease itself is created by the applier when the claim is applied (leases have one writer); until
    /// then the old owner's lease still runs from the provider's last renewal there.
    /// </summary>
    private void ClaimLease(in InstanceKey key, InstanceRecord instance)
    {
        if (!_pendingClaims.TryAdd(key, instance.Incarnation))
        {
            return;
        }

        // A request id and a place among the waiters, so the deadline sweep ends a claim whose append was
        // lost; either way the next renewal may claim again.
        var requestId = Interlocked.Increment(ref _nextRequestId);
        var claim = new PendingWrite(new ChangeEnvelope(NodeId, requestId, new ClaimLeaseChange(key, instance.Incarnation), AcceptedNow()), _time.GetTimestamp());
        _waiters[requestId] = claim;
        _ = claim.Task.ContinueWith(
            static (task, state) =>
            {
                var (node, claimed, id) = ((RegistryNode, InstanceKey, long))state!;
                node._waiters.TryRemove(id, out _);
                node._pendingClaims.TryRemove(claimed, out _);
            },
            (this, key, requestId),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default);
        if (!_submissions.Writer.TryWrite(claim))
        {
            claim.TrySetException(new NodeNotReadyException());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _submissions.Writer.TryComplete();
        await Task.WhenAll(_applier, _expiry, _keepAlive, _appender, _catchUp).ConfigureAwait(false);
        await WriteFinalCheckpointAsync().ConfigureAwait(false);
        Watches.EndAll("shutdown");
        foreach (var waiter in _waiters.Values)
        {
            waiter.TrySetException(new NodeNotReadyException());
        }

        await _storage.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StartLoopsAsync(CancellationToken cancellationToken)
    {
        // Restored instances get a lease each, due one TTL from now: the restart grace.
        foreach (var ns in State.Namespaces.Values)
        {
            foreach (var service in ns.Services.Values)
            {
                foreach (var instance in service.Instances.Values)
                {
                    if (instance.Registration.Kind == InstanceKind.Ephemeral && OwnsLease(instance))
                    {
                        Leases.Put(new InstanceKey(ns.Name, service.Name, instance.Id), instance);
                    }
                }
            }
        }

        // The applier starts first: a shared log learns how far it reaches by reading a barrier back.
        var stopping = _stopping.Token;
        var from = _machine.State.Revision + 1;
        _applier = Task.Run(() => RunLoopAsync(_applierHealth, () => RunApplierAsync(from, stopping)), CancellationToken.None);
        _expiry = Task.Run(() => RunLoopAsync(_expiryHealth, () => RunExpiryAsync(stopping)), CancellationToken.None);
        _keepAlive = Task.Run(() => RunLoopAsync(_keepAliveHealth, () => RunKeepAliveAsync(stopping)), CancellationToken.None);
        _appender = Task.Run(() => RunLoopAsync(_appenderHealth, () => RunAppenderAsync(stopping)), CancellationToken.None);
        try
        {
            SetCatchUpTarget(await _storage.Log.GetLastPositionAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (LogUnavailableException unavailable)
        {
            LogCatchUpWaiting(_logger, unavailable.Message);
            _catchUp = Task.Run(() => RunLoopAsync(_catchUpHealth, () => FindCatchUpTargetAsync(stopping)), CancellationToken.None);
        }
    }

    /// <summary>The node is ready once it has applied as far as the log reached when it started.</summary>
    private void SetCatchUpTarget(long target)
    {
        Volatile.Write(ref _catchUpTarget, target);
        if (State.Revision >= target)
        {
            MarkReady();
        }
    }

    /// <summary>
    /// Keeps asking how far the log reaches while it cannot be reached (a cluster node that started without its
    /// bus); the node stays unready meanwhile.
    /// </summary>
    private async Task FindCatchUpTargetAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        try
        {
            while (true)
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                try
                {
                    SetCatchUpTarget(await _storage.Log.GetLastPositionAsync(cancellationToken).ConfigureAwait(false));
                    return;
                }
                catch (LogUnavailableException unavailable)
                {
                    LogCatchUpWaiting(_logger, unavailable.Message);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Runs one of the node's loops. A loop that stops on an error leaves the node unhealthy for everyone to
    /// see (<see cref="Fault"/>, <c>/healthz</c>, <c>/readyz</c>, the log) instead of stopping silently.
    /// </summary>
    private async Task RunLoopAsync(LoopHealth health, Func<Task> loop)
    {
        health.Started();
        try
        {
            await loop().ConfigureAwait(false);
            health.Stopped();
        }
        catch (Exception ex)
        {
            health.Faulted(ex);
            Interlocked.CompareExchange(ref _fault, $"the {health.Name} loop stopped: {ex.Message}", null);
            LogLoopFailed(_logger, ex, health.Name);
        }
    }

    private string? StorageLoopFault()
    {
        // Read on every readiness check: an indexed loop allocates no enumerator.
        var loops = _storage.Loops;
        for (var i = 0; i < loops.Count; i++)
        {
            if (loops[i].State == LoopState.Faulted)
            {
                return $"the {loops[i].Name} loop stopped: {loops[i].Error}";
            }
        }

        return null;
    }

    private void MarkReady()
    {
        // Replay may have taken a while: the grace starts when the node can accept renewals.
        Leases.RenewAll();
        if (_ready.TrySetResult())
        {
            LogReady(_logger, State.Revision, State.InstanceCount);
        }
    }

    private async Task RunKeepAliveAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.KeepAliveInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Watches.SendKeepAlives();
                _keepAliveHealth.Progressed(_time);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
