using Roster.Core.Log;
using Roster.Core.Model;

namespace Roster.Core.StateMachine;

public enum ChangeEventKind : byte
{
    Upsert = 1,
    Delete = 2,
}

public enum DeleteReason : byte
{
    None = 0,
    Deregistered = 1,
    Expired = 2,
}

/// <summary>
/// What one applied change did to one service, as watchers see it. Immutable; the instance is shared
/// with the state, so keeping events in the watch history costs little.
/// </summary>
/// <param name="Revision">The log position of the change.</param>
/// <param name="Namespace">The namespace.</param>
/// <param name="Service">The service.</param>
/// <param name="Sequence">The service's sequence after this change (previous + 1).</param>
/// <param name="Digest">The service's digest after this change.</param>
/// <param name="Kind">Upsert or delete.</param>
/// <param name="Instance">The instance after an upsert, or as it was before a delete.</param>
/// <param name="Reason">Why a delete happened.</param>
/// <param name="AcceptedAt">When the node that appended the change accepted it, in Unix milliseconds; 0 when
/// unknown. For people to read: revisions, not times, order changes.</param>
/// <param name="Source">Which node appended the change, what kind of command it was and who asked for it (the audit);
/// null for events read from a checkpoint written before events carried it.</param>
public sealed record ChangeEvent(
    long Revision,
    string Namespace,
    string Service,
    long Sequence,
    ulong Digest,
    ChangeEventKind Kind,
    InstanceRecord Instance,
    DeleteReason Reason,
    long AcceptedAt = 0,
    ChangeSource? Source = null);

/// <summary>The command that made an event.</summary>
public enum ChangeCause : byte
{
    Register = 1,
    Operator = 2,
    Deregister = 3,
    Expire = 4,
}

/// <summary>
/// Where an event came from, identically on every node that applies the same log: the node that appended the change,
/// the command, and who asked for it (null for what a node does by itself, such as an expiry).
/// </summary>
public sealed record ChangeSource(string Node, ChangeCause Cause, WriteAuthor? Author);
