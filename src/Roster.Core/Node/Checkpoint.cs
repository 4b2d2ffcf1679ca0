using Roster.Core.Model;
using Roster.Core.StateMachine;

namespace Roster.Core.Node;

/// <summary>
/// The full registry state at one revision, plus the watch history up to it, so that after a restart
/// a watcher can still resume from a revision it saw before.
/// </summary>
public sealed record Checkpoint(RegistryState State, IReadOnlyList<ChangeEvent> History, long HistoryCoveredFrom);

/// <summary>Where checkpoints are kept. The embedded store writes files; a cluster may keep them elsewhere.</summary>
public interface ICheckpointStore
{
    /// <summary>Saves durably. Returns the revision of the oldest checkpoint still kept: the log must keep
    /// everything after it, so a damaged newest checkpoint can fall back to the previous one.</summary>
    Task<long> SaveAsync(Checkpoint checkpoint, CancellationToken cancellationToken);
}
