using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Roster.Core.Log;

/// <summary>
/// A log that lives only in memory (<c>--in-memory</c>): positions from a counter, entries handed to
/// the one reader and then forgotten.
/// </summary>
public sealed class InMemoryChangeLog : IChangeLog
{
    private readonly Lock _appendLock = new();
    private readonly Channel<LogRecord[]> _committed = Channel.CreateUnbounded<LogRecord[]>(
        new UnboundedChannelOptions { SingleReader = true });

    private long _lastPosition;

    public InMemoryChangeLog(long lastPosition = 0) => _lastPosition = lastPosition;

    public Task AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        cancellationToken.ThrowIfCancellationRequested();
        var records = new LogRecord[entries.Count];
        lock (_appendLock)
        {
            for (var i = 0; i < records.Length; i++)
            {
                records[i] = new LogRecord(++_lastPosition, entries[i]);
            }

            // Under the lock so batches reach the reader in position order. An unbounded channel's
            // TryWrite never blocks and runs no reader continuation inline.
            ObjectDisposedException.ThrowIf(!_committed.Writer.TryWrite(records), this);
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<IReadOnlyList<LogRecord>> ReadAsync(
        long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in _committed.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (batch[^1].Position >= fromPosition)
            {
                yield return batch;
            }
        }
    }

    public ValueTask<long> GetLastPositionAsync(CancellationToken cancellationToken)
    {
        lock (_appendLock)
        {
            return ValueTask.FromResult(_lastPosition);
        }
    }

    public ValueTask TruncateBeforeAsync(long position, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _committed.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
