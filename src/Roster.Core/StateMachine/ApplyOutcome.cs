using Roster.Core.Model;

namespace Roster.Core.StateMachine;

public enum OutcomeStatus : byte
{
    Created,
    Updated,
    Unchanged,
    Deleted,
    NotFound,
    StaleIncarnation,

    /// <summary>The position was applied before (a replayed or duplicated entry).</summary>
    AlreadyApplied,
}

/// <summary>The result of applying one change, handed back to the caller that appended it.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Instance">The instance after the change (or as it was, for a delete); null when not found.</param>
/// <param name="Revision">The change's revision.</param>
/// <param name="Previous">The instance as it was before the change, when there was one.</param>
public readonly record struct ApplyOutcome(OutcomeStatus Status, InstanceRecord? Instance, long Revision, InstanceRecord? Previous = null);
