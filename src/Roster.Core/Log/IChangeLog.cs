namespace Roster.Core.Log;

/// <summary>
/// The ordered, durable log of registry changes. A position is a change's revision: positions are
/// strictly increasing (not necessarily contiguous) and the same for every reader.
/// <para>
/// Implementations: <see cref="Embedded.FileChangeLog"/> (one node, under the data directory),
/// <see cref="InMemoryChangeLog"/> (no durability), and <see cref="Stream.StreamChangeLog"/> (a node of a
/// cluster, on a stream every node appends to and reads).
/// </para>
/// </summary>
public interface IChangeLog : IAsyncDisposable
{
    /// <summary>
    /// Appends <paramref name="entries"/> as one batch and completes once they are durable. An append learns
    /// no positions (a stream's publisher confirm carries none): the node learns what became of its entries by
    /// reading, and answers its callers from what it applies. Entries of one call are never interleaved with
    /// another call's and are read back together.
    /// <para>
    /// Failures: <see cref="LogAppendUncertainException"/> means the batch may still appear (its callers keep
    /// waiting for it); any other exception means it was not stored. A batch may be stored more than once
    /// (a retried publish): the log's readers hand each over only once, identically for every reader.
    /// </para>
    /// </summary>
    Task AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken);

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
