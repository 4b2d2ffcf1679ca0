namespace Roster.Core.Watch;

/// <summary>Why a watch ended, as the <c>disconnect</c> frame says it.</summary>
public static class WatchEndReasons
{
    /// <summary>The watcher's queue filled up: it read more slowly than changes arrived.</summary>
    public const string SlowConsumer = "slow-consumer";
}
