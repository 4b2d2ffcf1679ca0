using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Roster.Core.Log.Stream;

/// <summary>
/// One node's connection to a shared stream (<see cref="InProcessBroker"/>): the change log of a cluster
/// node. Every node appends its batches to the same stream and reads all of them back in stream order.
/// <para>
/// <b>Positions.</b> A batch travels as one message and is applied whole. Its changes get positions derived
/// from the message's offset, <c>(offset + 1) × 4096 + index</c>, so they are strictly increasing and the
/// same on every node although no append ever learns an offset.
/// </para>
/// <para>
/// <b>Duplicates.</b> A message stored twice (a publish retried after a lost confirm) is applied once, on
/// every node: a message whose origin and batch id appear among the <see cref="DedupWindow"/> messages
/// before it is skipped. That rule depends only on the stream, so every node skips the same copies; a node
/// that starts reading at an offset first reads the window before it, so it needs no saved state. A copy
/// arriving more than the window after its original would be applied twice: retries happen within seconds,
/// the window covers thousands of messages. A skipped copy still moves every reader's revision past its
/// positions (<see cref="SkippedCopy"/>), so "caught up with the last position" stays reachable.
/// </para>
/// </summary>
public sealed class StreamChangeLog(InProcessBroker stream, string origin, int dedupWindow = StreamChangeLog.DefaultDedupWindow) : IChangeLog
{
    /// <summary>Changes one message holds at most; larger appends are split into several messages.</summary>
    public const int MaxChangesPerMessage = 4096;

    public const int DefaultDedupWindow = 10_000;

    private long _nextBatchId;

    public int DedupWindow { get; } = dedupWindow;

    /// <summary>The position of change <paramref name="index"/> of the message at <paramref name="offset"/>.</summary>
    public static long PositionOf(long offset, int index) => ((offset + 1) * MaxChangesPerMessage) + index;

    public Task AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        cancellationToken.ThrowIfCancellationRequested();
        var faults = stream.Faults;
        for (var start = 0; start < entries.Count; start += MaxChangesPerMessage)
        {
            var changes = entries.Skip(start).Take(MaxChangesPerMessage).ToArray();
            var message = new StreamMessage(origin, Interlocked.Increment(ref _nextBatchId), changes);
            if (faults.Roll(faults.LoseMessage))
            {
                return Task.FromException(new LogAppendUncertainException("The message was lost before the stream stored it."));
            }

            stream.Store(message, faults.Roll(faults.Duplicate) ? faults.Next(4) : null);
            if (faults.Roll(faults.LoseConfirm))
            {
                return Task.FromException(new LogAppendUncertainException("The stream stored the message, but its confirm was lost."));
            }
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<IReadOnlyList<LogRecord>> ReadAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var fromOffset = Math.Max(0, (fromPosition / MaxChangesPerMessage) - 1);
        var live = Channel.CreateUnbounded<StreamMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        var backlog = stream.Subscribe(Math.Max(0, fromOffset - DedupWindow), live.Writer, origin);
        try
        {
            var window = new RecentMessages(DedupWindow);
            foreach (var message in backlog)
            {
                if (Accept(message, window, fromPosition) is { } records)
                {
                    yield return records;
                }
            }

            await foreach (var message in live.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Accept(message, window, fromPosition) is { } records)
                {
                    yield return records;
                }
            }
        }
        finally
        {
            stream.Unsubscribe(live.Writer);
        }
    }

    public ValueTask<long> GetLastPositionAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(stream.Last() is { } last ? PositionOf(last.Offset, last.Changes.Count - 1) : 0);

    /// <summary>Retention belongs to the stream; a node never deletes from it.</summary>
    public ValueTask TruncateBeforeAsync(long position, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// The records of <paramref name="message"/> at or after <paramref name="fromPosition"/>; null for a message
    /// before it (read only to fill the window). A copy of a message already applied becomes one
    /// <see cref="SkippedCopy"/> at its last position, so readers still move past it.
    /// </summary>
    private static LogRecord[]? Accept(StreamMessage message, RecentMessages window, long fromPosition)
    {
        if (!window.Add(message.Origin, message.BatchId))
        {
            var last = PositionOf(message.Offset, message.Changes.Count - 1);
            return last >= fromPosition ? [new LogRecord(last, SkippedCopy.Envelope)] : null;
        }

        var records = new List<LogRecord>(message.Changes.Count);
        for (var i = 0; i < message.Changes.Count; i++)
        {
            var position = PositionOf(message.Offset, i);
            if (position >= fromPosition)
            {
                records.Add(new LogRecord(position, message.Changes[i]));
            }
        }

        return records.Count > 0 ? [.. records] : null;
    }

    /// <summary>The ids of the last <c>capacity</c> messages read, copies included, so its content at any
    /// offset is the same for every reader. Owned by one reader.</summary>
    private sealed class RecentMessages(int capacity)
    {
        private readonly Queue<(string Origin, long BatchId)> _order = new();
        private readonly Dictionary<(string Origin, long BatchId), int> _counts = [];

        /// <summary>Records the message; false when the same origin and batch id is already in the window.</summary>
        public bool Add(string origin, long batchId)
        {
            var id = (origin, batchId);
            var fresh = !_counts.TryGetValue(id, out var count);
            _counts[id] = count + 1;
            _order.Enqueue(id);
            if (_order.Count > capacity)
            {
                var oldest = _order.Dequeue();
                if (--_counts[oldest] == 0)
                {
                    _counts.Remove(oldest);
                }
            }

            return fresh;
        }
    }
}
