namespace Roster.Core.Watch;

/// <summary>
/// One complete Server-Sent Events frame, already encoded. The same bytes go to every subscriber.
/// </summary>
/// <param name="Revision">The change's revision; 0 for frames that carry none (keep-alives).</param>
/// <param name="Bytes">The frame.</param>
public readonly record struct WatchFrame(long Revision, ReadOnlyMemory<byte> Bytes)
{
    public static WatchFrame KeepAlive { get; } = new(0, ": keep-alive\n\n"u8.ToArray());
}
