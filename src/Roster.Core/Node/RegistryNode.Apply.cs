using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.StateMachine;

namespace Roster.Core.Node;

public sealed partial class RegistryNode
{
    // How far the log reached at start (see FindCatchUpTargetAsync); unknown until learned.
    private long _catchUpTarget = long.MaxValue;
    private long _lastCheckpointRevision;
    private long _appliedAtLastCheckpoint;
    private Task _checkpointing = Task.CompletedTask;

    /// <summary>
    /// The single applier: reads the log in order, applies each entry, publishes the new state and the
    /// events once per batch, then answers the callers whose entries were in it.
    /// </summary>
    private async Task RunApplierAsync(long fromPosition, CancellationToken cancellationToken)
    {
        var events = new List<ChangeEvent>();
        var answers = new List<(PendingWrite Waiter, ApplyOutcome Outcome)>();
        try
        {
            await foreach (var batch in _storage.Log.ReadAsync(fromPosition, cancellationToken).ConfigureAwait(false))
            {
                events.Clear();
                answers.Clear();
                foreach (var record in batch)
                {
                    var envelope = record.Envelope;
                    var outcome = _machine.Apply(record.Position, envelope.Change, events, envelope.Origin, envelope.AcceptedAt, envelope.Author);
                    UpdateLeases(envelope, outcome);
                    if (envelope.Origin == NodeId && envelope.RequestId != 0 && _waiters.TryRemove(envelope.RequestId, out var waiter))
                    {
                        answers.Add((waiter, outcome));
                    }
                }

                Watches.Publish(_machine.State, events);
                _applierHealth.Progressed(_time);

                // After publishing: a caller woken here sees the new state (CatchUpToAsync). Only when someone
                // waits, so a batch costs no allocation otherwise; the interlocked read orders it after the
                // publish, against a waiter that registers and then reads the state.
                if (Interlocked.CompareExchange(ref _catchUpWaiters, 0, 0) > 0)
                {
                    Interlocked.Exchange(ref _applied, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }
                Metrics.AddApplied(batch.Count);

                // After publishing, so a caller that is answered reads its own write.
                foreach (var (waiter, outcome) in answers)
                {
                    waiter.TrySetResult(outcome);
                }

                if (!IsReady && _machine.State.Revision >= Volatile.Read(ref _catchUpTarget))
                {
                    MarkReady();
                }

                MaybeStartCheckpoint();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Keeps the lease table in step with the applied state: this node holds a lease for exactly the leased
    /// instances it owns (see <see cref="InstanceRecord.Owner"/>). Runs on the applier only.
    /// </summary>
    private void UpdateLeases(ChangeEnvelope envelope, ApplyOutcome outcome)
    {
        var before = outcome.Previous;
        switch (outcome.Status)
        {
            case OutcomeStatus.Created or OutcomeStatus.Updated or OutcomeStatus.Unchanged
                when envelope.Change is RegisterChange or ClaimLeaseChange && outcome.Instance is { } instance:
                if (before is not null && before.Incarnation != instance.Incarnation)
                {
                    Leases.Remove(before.Incarnation);
                }

                if (instance.Registration.Kind == InstanceKind.Persistent || !OwnsLease(instance))
                {
                    Leases.Remove(instance.Incarnation);
                }
                else if (envelope.Origin == NodeId)
                {
                    // Registered or claimed here: the lease runs from now.
                    Leases.Put(envelope.Change.Key, instance);
                }

                break;
            case OutcomeStatus.Deleted when outcome.Instance is { } removed:
                Leases.Remove(removed.Incarnation);
                break;
        }
    }

    /// <summary>Whether this node holds <paramref name="instance"/>'s lease (an unknown owner, from an older
    /// checkpoint, counts as this node's, as it did before owners were recorded).</summary>
    private bool OwnsLease(InstanceRecord instance) => instance.Owner.Length == 0 || instance.Owner == NodeId;

    private void MaybeStartCheckpoint()
    {
        // A checkpoint writes every instance, so it waits for at least twice as many log entries as there
        // are instances: each entry then pays for at most half an instance written, however large the
        // registry, and a restart replays at most that many entries.
        // Counted in entries applied, not in revisions: a cluster's revisions advance by thousands per message.
        var interval = Math.Max(_options.CheckpointInterval, 2L * _machine.State.InstanceCount);
        if (_storage.Checkpoints is null
            || !_checkpointing.IsCompleted
            || Metrics.AppliedEntries - _appliedAtLastCheckpoint < interval
            || _machine.State.Revision == _lastCheckpointRevision)
        {
            return;
        }

        var (state, history, coveredFrom) = Watches.CaptureForCheckpoint();
        _lastCheckpointRevision = state.Revision;
        _appliedAtLastCheckpoint = Metrics.AppliedEntries;
        _checkpointing = Task.Run(() => SaveCheckpointAsync(new Checkpoint(state, history, coveredFrom)), CancellationToken.None);
    }

    private async Task SaveCheckpointAsync(Checkpoint checkpoint)
    {
        try
        {
            var keepAfter = await _storage.Checkpoints!.SaveAsync(checkpoint, CancellationToken.None).ConfigureAwait(false);
            await _storage.Log.TruncateBeforeAsync(keepAfter + 1, CancellationToken.None).ConfigureAwait(false);
            LogCheckpointWritten(_logger, checkpoint.State.Revision);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The log still holds everything; the next checkpoint tries again.
            LogCheckpointFailed(_logger, ex, checkpoint.State.Revision);
        }
    }

    private async Task WriteFinalCheckpointAsync()
    {
        await _checkpointing.ConfigureAwait(false);
        if (_storage.Checkpoints is not null && IsReady && _machine.State.Revision > _lastCheckpointRevision)
        {
            var (state, history, coveredFrom) = Watches.CaptureForCheckpoint();
            _lastCheckpointRevision = state.Revision;
            await SaveCheckpointAsync(new Checkpoint(state, history, coveredFrom)).ConfigureAwait(false);
        }
    }
}
