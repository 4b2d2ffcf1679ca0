using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Validation;

namespace Roster.Core.StateMachine;

/// <summary>
/// Applies log entries, in log order, to the registry state. Owned by one thread (the node's applier):
/// it is not thread-safe and does not need to be. What it publishes (<see cref="State"/>) is immutable.
/// </summary>
internal sealed class RegistryStateMachine(RegistryState initial)
{
    private string _lastOrigin = string.Empty;

    public RegistryState State { get; private set; } = initial;

    // The entry being applied (its time, origin and author), for the events it makes; set by each Apply (the machine
    // has one caller).
    private long _acceptedAt;
    private string _origin = string.Empty;
    private WriteAuthor? _author;

    /// <summary>
    /// Applies the entry at <paramref name="position"/>, appended by node <paramref name="origin"/>. Positions at
    /// or below the current revision were applied before and are ignored, so a log replayed from an earlier
    /// point converges. <paramref name="acceptedAt"/> (Unix milliseconds, 0 when unknown), the origin and
    /// <paramref name="author"/> are passed on to the events the entry makes.
    /// </summary>
    public ApplyOutcome Apply(long position, Change change, List<ChangeEvent> events, string origin = "", long acceptedAt = 0, WriteAuthor? author = null)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(events);
        _acceptedAt = acceptedAt;
        _origin = origin;
        _author = author;
        if (position <= State.Revision)
        {
            return new ApplyOutcome(OutcomeStatus.AlreadyApplied, null, position);
        }

        if (change is NoChange)
        {
            State = State with { Revision = position };
            return new ApplyOutcome(OutcomeStatus.AlreadyApplied, null, position);
        }

        var key = change.Key;
        var service = State.FindService(key.Namespace, key.Service) ?? ServiceState.Create(key.Service);
        service.Instances.TryGetValue(key.Id, out var existing);
        var outcome = change switch
        {
            RegisterChange register => ApplyRegister(position, key, register, service, existing, events, Intern(origin)),
            DeregisterChange deregister => ApplyDeregister(position, key, deregister, service, existing, events),
            ExpireChange expire => ApplyExpire(position, key, expire, service, existing, events, origin),
            ClaimLeaseChange claim => ApplyClaim(position, key, claim, service, existing, Intern(origin)),
            OperatorChange op => ApplyOperator(position, key, op, service, existing, events),
            _ => throw new ArgumentException($"Unknown change type {change.GetType().Name}.", nameof(change)),
        } with { Previous = existing };

        if (State.Revision != position)
        {
            // Nothing changed, but the position is consumed: the revision still moves forward.
            State = State with { Revision = position };
        }

        return outcome;
    }

    /// <summary>
    /// One shared copy of a node id, so instances do not each keep the copy their log entry was decoded into.
    /// Entries come in runs from the same node: the last one is remembered, sparing the pool's lookup.
    /// </summary>
    private string Intern(string origin)
    {
        if (!string.Equals(origin, _lastOrigin, StringComparison.Ordinal))
        {
            _lastOrigin = StringPool.Shared.Intern(origin);
        }

        return _lastOrigin;
    }

    private ApplyOutcome ApplyRegister(
        long position, InstanceKey key, RegisterChange register, ServiceState service, InstanceRecord? existing, List<ChangeEvent> events, string origin)
    {
        if (register.ExpectedIncarnation != 0)
        {
            if (existing is null)
            {
                return new ApplyOutcome(OutcomeStatus.NotFound, null, position);
            }

            if (existing.Incarnation != register.ExpectedIncarnation)
            {
                return new ApplyOutcome(OutcomeStatus.StaleIncarnation, existing, position);
            }
        }

        if (existing is not null && existing.Registration == register.Registration)
        {
            // An identical registration is idempotent: same incarnation, no event. The provider now talks
            // to the node that appended it, which takes over the lease.
            var owned = existing.WithOwner(origin);
            ReplaceSilently(position, key, service, owned);
            return new ApplyOutcome(OutcomeStatus.Unchanged, owned, position);
        }

        var updated = existing is not null && register.ExpectedIncarnation != 0
            ? existing.WithRegistration(register.Registration, position, origin)
            : new InstanceRecord(key.Id, register.Registration, service.OperatorFor(key.Id), incarnation: position, revision: position, origin);
        Upsert(position, key, service, existing, updated, events, ChangeCause.Register);
        return new ApplyOutcome(existing is null ? OutcomeStatus.Created : OutcomeStatus.Updated, updated, position);
    }

    private ApplyOutcome ApplyDeregister(
        long position, InstanceKey key, DeregisterChange deregister, ServiceState service, InstanceRecord? existing, List<ChangeEvent> events)
    {
        if (existing is null)
        {
            return new ApplyOutcome(OutcomeStatus.NotFound, null, position);
        }

        if (deregister.ExpectedIncarnation != 0 && existing.Incarnation != deregister.ExpectedIncarnation)
        {
            return new ApplyOutcome(OutcomeStatus.StaleIncarnation, existing, position);
        }

        // An explicit deregistration ends the instance's life: its operator state goes with it.
        Remove(position, key, service with { Operators = service.Operators.Remove(key.Id) }, existing, DeleteReason.Deregistered, events, ChangeCause.Deregister);
        return new ApplyOutcome(OutcomeStatus.Deleted, existing, position);
    }

    private ApplyOutcome ApplyExpire(
        long position, InstanceKey key, ExpireChange expire, ServiceState service, InstanceRecord? existing, List<ChangeEvent> events, string origin)
    {
        if (existing is null || existing.Incarnation != expire.Incarnation)
        {
            // Re-registered or already gone since the owner decided to expire it.
            return new ApplyOutcome(OutcomeStatus.Unchanged, existing, position);
        }

        if (existing.Owner.Length > 0 && origin.Length > 0 && existing.Owner != origin)
        {
            // Another node took the lease over before this expiry arrived: its renewals keep the instance.
            return new ApplyOutcome(OutcomeStatus.Unchanged, existing, position);
        }

        Remove(position, key, service, existing, DeleteReason.Expired, events, ChangeCause.Expire);
        return new ApplyOutcome(OutcomeStatus.Deleted, existing, position);
    }

    private ApplyOutcome ApplyClaim(long position, InstanceKey key, ClaimLeaseChange claim, ServiceState service, InstanceRecord? existing, string origin)
    {
        if (existing is null || existing.Incarnation != claim.Incarnation)
        {
            return new ApplyOutcome(OutcomeStatus.NotFound, existing, position);
        }

        var owned = existing.WithOwner(origin);
        ReplaceSilently(position, key, service, owned);
        return new ApplyOutcome(OutcomeStatus.Unchanged, owned, position);
    }

    /// <summary>Replaces an instance with one that differs in nothing a client sees (its lease owner): no event,
    /// no sequence, the same digest.</summary>
    private void ReplaceSilently(long position, InstanceKey key, ServiceState service, InstanceRecord replacement)
    {
        if (ReferenceEquals(service.Instances[key.Id], replacement))
        {
            return;
        }

        Publish(position, key.Namespace, service with { Instances = service.Instances.SetItem(key.Id, replacement) }, 0);
    }

    private ApplyOutcome ApplyOperator(
        long position, InstanceKey key, OperatorChange op, ServiceState service, InstanceRecord? existing, List<ChangeEvent> events)
    {
        if (existing is null)
        {
            return new ApplyOutcome(OutcomeStatus.NotFound, null, position);
        }

        var state = existing.Operator.Apply(op.Patch);
        if (state == existing.Operator)
        {
            return new ApplyOutcome(OutcomeStatus.Unchanged, existing, position);
        }

        var operators = state.IsNone ? service.Operators.Remove(key.Id) : service.Operators.SetItem(key.Id, state);
        var updated = existing.WithOperator(state, position);
        Upsert(position, key, service with { Operators = operators }, existing, updated, events, ChangeCause.Operator);
        return new ApplyOutcome(OutcomeStatus.Updated, updated, position);
    }

    private void Upsert(
        long position, InstanceKey key, ServiceState service, InstanceRecord? existing, InstanceRecord updated, List<ChangeEvent> events, ChangeCause cause)
    {
        var digest = service.Digest ^ (existing?.Hash ?? 0) ^ updated.Hash;
        var next = service with
        {
            Sequence = service.Sequence + 1,
            Digest = digest,
            Instances = service.Instances.SetItem(key.Id, updated),
        };
        Publish(position, key.Namespace, next, existing is null ? 1 : 0);
        events.Add(new ChangeEvent(position, key.Namespace, key.Service, next.Sequence, digest, ChangeEventKind.Upsert, updated, DeleteReason.None, _acceptedAt, SourceOf(cause)));
    }

    private void Remove(
        long position, InstanceKey key, ServiceState service, InstanceRecord existing, DeleteReason reason, List<ChangeEvent> events, ChangeCause cause)
    {
        var digest = service.Digest ^ existing.Hash;
        var next = service with
        {
            Sequence = service.Sequence + 1,
            Digest = digest,
            Instances = service.Instances.Remove(key.Id),
        };
        Publish(position, key.Namespace, next, -1);
        events.Add(new ChangeEvent(position, key.Namespace, key.Service, next.Sequence, digest, ChangeEventKind.Delete, existing, reason, _acceptedAt, SourceOf(cause)));
    }

    private ChangeSource SourceOf(ChangeCause cause) => new(Intern(_origin), cause, _author);

    private void Publish(long position, string @namespace, ServiceState service, int instanceDelta)
    {
        var ns = State.Namespaces.TryGetValue(@namespace, out var current) ? current : NamespaceState.Create(@namespace);
        ns = ns with { Services = ns.Services.SetItem(service.Name, service) };
        State = new RegistryState(position, State.Namespaces.SetItem(@namespace, ns), State.InstanceCount + instanceDelta);
    }
}
