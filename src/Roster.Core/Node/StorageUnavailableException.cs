namespace Roster.Core.Node;

/// <summary>
/// A change could not be made durable because the node's storage refused the write (the disk is full, or
/// failing). Nothing of it was applied and the revision did not move: retrying later, or on another node,
/// is safe.
/// </summary>
public sealed class StorageUnavailableException(bool diskFull, Exception inner)
    : IOException(diskFull ? "The node's disk is full; the change was not made." : "The node could not write its log; the change was not made.", inner)
{
    /// <summary>True when the write failed for lack of space (it recovers by itself when space returns).</summary>
    public bool DiskFull { get; } = diskFull;

    /// <summary>Whether <paramref name="exception"/> says the file system is out of space or quota.</summary>
    internal static bool IsDiskFull(Exception exception) =>
        exception is IOException io && io.HResult is 28 /* ENOSPC */ or 122 /* EDQUOT */
            or unchecked((int)0x80070070) /* ERROR_DISK_FULL */ or unchecked((int)0x80070027) /* ERROR_HANDLE_DISK_FULL */;
}
