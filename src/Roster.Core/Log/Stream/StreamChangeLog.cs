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
/// positions (<see cref="NoChange"/>), so "caught up with the last position" stays reachable.
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
    public static long PositionOf(long offset, int index) => StreamSequencer.PositionOf(offset, index);

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
        var fromOffset = StreamSequencer.OffsetOf(fromPosition);
        var live = Channel.CreateUnbounded<StreamMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        var backlog = stream.Subscribe(Math.Max(0, fromOffset - DedupWindow), live.Writer, origin);
        try
        {
            var sequencer = new StreamSequencer(DedupWindow);
            foreach (var message in backlog)
            {
                if (sequencer.Accept(message, fromPosition) is { } records)
                {
                    yield return records;
                }
            }

            await foreach (var message in live.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (sequencer.Accept(message, fromPosition) is { } records)
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
        ValueTask.FromResult(stream.Last() is { } last ? StreamSequencer.LastPositionOf(last.Offset, last.Changes.Count) : 0);

    /// <summary>Retention belongs to the stream; a node never deletes from it.</summary>
    public ValueTask TruncateBeforeAsync(long position, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
