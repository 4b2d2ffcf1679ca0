namespace Roster.Client.Discovery;

/// <summary>What <see cref="EndpointCache.Replace"/> did.</summary>
internal enum ReplaceOutcome
{
    /// <summary>The new list is current.</summary>
    Replaced,

    /// <summary>Kept the current list: it is newer than the one offered.</summary>
    Older,

    /// <summary>Kept the current, non-empty list: the empty one was not confirmed by the registry.</summary>
    EmptyRefused,
}
