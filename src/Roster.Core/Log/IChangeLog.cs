namespace Roster.Core.Log;

/// <summary>
/// The ordered, durable log of registry changes. A position is a change's revision: positions are
/// strictly increasing (not necessarily contiguous) and the same for every reader.
/// <para>
/// Implementations: <see cref="Embedded.FileChangeLog"/> (one node, under the data directory),
/// <see cref="InMemoryChangeLog"/> (no durability), and a RabbitMQ stream for a cluster.
/// </para>
/// </summary>
public interface IChangeLog : IAsyncDisposable
{
    /// <summary>
    /// Appends <paramref name="entries"/> in order and completes once they are durable, with the position
    /// of each. Entries appended by one call are never interleaved with another call's.
    /// </summary>
    Task<long[]> AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken);

    /// <summary>
    /// Reads committed entries whose position is at least <paramref name="fromPosition"/>, in order and in
    /// batches, then waits for new ones until cancelled. One reader at a time.
    /// </summary>
    IAsyncEnumerable<IReadOnlyList<LogRecord>> ReadAsync(long fromPosition, CancellationToken cancellationToken);

    /// <summary>The position of the last committed entry (0 when the log is empty): a reader has caught up
    /// once it has applied this far.</summary>
    ValueTask<long> GetLastPositionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Allows the log to drop entries before <paramref name="position"/>: a checkpoint now covers them.
    /// Implementations may keep more.
    /// </summary>
    ValueTask TruncateBeforeAsync(long position, CancellationToken cancellationToken);
}
