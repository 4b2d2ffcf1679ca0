using Roster.Core.Model;

namespace Roster.Core.Log;

/// <summary>
/// A command in the change log. Applying it is deterministic given the state before it, so every
/// node that applies the same log in the same order reaches the same state.
/// </summary>
public abstract record Change(InstanceKey Key);

/// <summary>Register or update an instance.</summary>
/// <param name="Key">The instance.</param>
/// <param name="Registration">Its new content.</param>
/// <param name="ExpectedIncarnation">0 for a fresh registration (a new incarnation unless the content
/// is identical); otherwise an update that must name the current incarnation.</param>
public sealed record RegisterChange(InstanceKey Key, Registration Registration, long ExpectedIncarnation) : Change(Key);

/// <summary>Remove an instance on request. Clears its operator state.</summary>
/// <param name="Key">The instance.</param>
/// <param name="ExpectedIncarnation">0 for any incarnation; otherwise the one that must be current.</param>
public sealed record DeregisterChange(InstanceKey Key, long ExpectedIncarnation) : Change(Key);

/// <summary>Remove an instance whose lease ran out. Ignored unless <paramref name="Incarnation"/> is still current.</summary>
public sealed record ExpireChange(InstanceKey Key, long Incarnation) : Change(Key);

/// <summary>
/// Take over the lease of <paramref name="Incarnation"/>: its renewals now arrive at the node that appends
/// this (the envelope's origin), which becomes the only node that may expire it. Ignored unless that
/// incarnation is still current. Nothing a client sees changes.
/// </summary>
public sealed record ClaimLeaseChange(InstanceKey Key, long Incarnation) : Change(Key);

/// <summary>Change the operator state of an existing instance.</summary>
public sealed record OperatorChange(InstanceKey Key, OperatorPatch Patch) : Change(Key);

/// <summary>
/// A position that carries no change. A shared log's reader puts one where a copy of a batch already applied
/// was stored (a publish retried after a lost confirm), and where a batch holds no change at all (a barrier a
/// node appends to learn how far the log reaches), so the revision still moves past it on every node and a
/// node knows it has read that far. Never written to a log.
/// </summary>
public sealed record NoChange() : Change(default(InstanceKey))
{
    /// <summary>The envelope of a position without a change: no origin, and nobody waits for it.</summary>
    public static ChangeEnvelope Envelope { get; } = new(string.Empty, 0, new NoChange(), AcceptedAt: 0);
}

/// <summary>A change as it travels through the log: who appended it, so that node can answer its caller, and when.</summary>
/// <param name="Origin">The node id that appended it; that node owns the resulting lease.</param>
/// <param name="RequestId">Unique per origin; 0 when nobody waits for the outcome.</param>
/// <param name="Change">The command.</param>
/// <param name="AcceptedAt">When the origin accepted it, in Unix milliseconds by the origin's clock; 0 when unknown
/// (entries written before the log carried times). Shown to people (the console's timeline, the audit); never used
/// to order or expire anything, so clocks that disagree between nodes change nothing but what is displayed.</param>
/// <param name="Author">Who asked for it, for the audit; null for changes the node makes itself (expiries, lease
/// claims) and for entries written before the log carried authors.</param>
public sealed record ChangeEnvelope(string Origin, long RequestId, Change Change, long AcceptedAt, WriteAuthor? Author = null);

/// <summary>A change at its position in the log. The position is the change's revision.</summary>
public readonly record struct LogRecord(long Position, ChangeEnvelope Envelope);
