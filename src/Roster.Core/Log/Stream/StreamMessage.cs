using System.Buffers;
using Roster.Core.Serialization;

namespace Roster.Core.Log.Stream;

/// <summary>
/// One message of a cluster's stream: a node's batch of changes, applied whole, identified by its origin and
/// batch id so that a copy stored twice is applied once. A message without changes is a barrier: a node
/// appends one to learn how far the stream reaches, and reads it back as one <see cref="NoChange"/> position.
/// </summary>
/// <param name="Origin">The node that appended it.</param>
/// <param name="BatchId">Unique per origin and process: the second half of the message's identity.</param>
/// <param name="Changes">The changes, in order; empty for a barrier.</param>
internal sealed record StreamMessage(string Origin, long BatchId, IReadOnlyList<ChangeEnvelope> Changes)
{
    /// <summary>The stream offset it was read at; -1 before it is stored.</summary>
    public long Offset { get; init; } = -1;

    /// <summary>The registry id the publisher has adopted; empty in a node's first barrier, sent before it knows.</summary>
    public string RegistryId { get; init; } = string.Empty;

    /// <summary>The registry id a node proposes in its first barrier, in case the stream has none yet.</summary>
    public string ProposedRegistryId { get; init; } = string.Empty;

    public bool IsBarrier => Changes.Count == 0;
}

/// <summary>
/// The bytes of a <see cref="StreamMessage"/> on a message bus. The first byte is the format version: a node
/// refuses a message whose version it does not know (and turns failed) rather than skip it, so a rolling
/// upgrade must finish before nodes write a newer version.
/// </summary>
internal static class StreamMessageCodec
{
    /// <summary>The version this build writes and the newest it reads.</summary>
    public const byte FormatVersion = 1;

    public static byte[] Encode(StreamMessage message)
    {
        var output = new ArrayBufferWriter<byte>(256);
        var e = new BinaryEncoder(output);
        e.WriteByte(FormatVersion);
        e.WriteString(message.RegistryId);
        e.WriteString(message.ProposedRegistryId);
        e.WriteString(message.Origin);
        e.WriteVarInt64(message.BatchId);
        e.WriteVarInt64(message.Changes.Count);
        var change = new ArrayBufferWriter<byte>(256);
        foreach (var envelope in message.Changes)
        {
            change.ResetWrittenCount();
            ChangeCodec.Write(change, envelope);
            e.WriteBytes(change.WrittenSpan);
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads a message; throws <see cref="InvalidDataException"/> for a version it does not know or damaged bytes.</summary>
    public static StreamMessage Decode(ReadOnlySpan<byte> bytes, long offset)
    {
        try
        {
            var d = new BinaryDecoder(bytes);
            var version = d.ReadByte();
            if (version != FormatVersion)
            {
                throw new InvalidDataException(
                    $"The stream message at offset {offset} has format version {version}; this node reads version {FormatVersion} (upgrade it before nodes write a newer format).");
            }

            var registryId = d.ReadString();
            var proposed = d.ReadString();
            var origin = d.ReadString();
            var batchId = d.ReadVarInt64();
            var count = d.ReadVarInt32();
            if (count is < 0 or > StreamChangeLog.MaxChangesPerMessage)
            {
                throw new InvalidDataException($"The stream message at offset {offset} claims {count} changes.");
            }

            var changes = new ChangeEnvelope[count];
            for (var i = 0; i < count; i++)
            {
                changes[i] = ChangeCodec.Read(d.ReadBytes());
            }

            if (!d.AtEnd)
            {
                throw new InvalidDataException($"The stream message at offset {offset} has bytes after its last change.");
            }

            return new StreamMessage(origin, batchId, changes) { Offset = offset, RegistryId = registryId, ProposedRegistryId = proposed };
        }
        catch (Exception ex) when (ex is ArgumentException or IndexOutOfRangeException or OverflowException or System.Text.DecoderFallbackException)
        {
            throw new InvalidDataException($"The stream message at offset {offset} is damaged: {ex.Message}", ex);
        }
    }
}

/// <summary>
/// Turns a stream's messages, in offset order, into log records: positions from offsets, copies skipped, by
/// rules that depend only on the stream's content, so every node turns the same stream into the same records.
/// <para>
/// <b>Positions.</b> Change <c>i</c> of the message at offset <c>o</c> gets position (= revision)
/// <c>(o + 1) × 4096 + i</c>; a barrier gets one <see cref="NoChange"/> at <c>(o + 1) × 4096</c>.
/// </para>
/// <para>
/// <b>Copies.</b> A message whose origin and batch id appear among the <see cref="StreamChangeLog.DefaultDedupWindow"/>
/// messages before it is a copy (a publish retried after a lost confirm): it becomes one <see cref="NoChange"/>
/// at its last position. A reader starting at an offset first feeds the window before it (with
/// <see cref="Accept"/> returning null for those), so it needs no saved state.
/// </para>
/// Owned by one reader.
/// </summary>
internal sealed class StreamSequencer(int dedupWindow)
{
    private readonly Queue<(string Origin, long BatchId)> _order = new();
    private readonly Dictionary<(string Origin, long BatchId), int> _counts = [];

    /// <summary>The position of change <paramref name="index"/> of the message at <paramref name="offset"/>.</summary>
    public static long PositionOf(long offset, int index) => ((offset + 1) * StreamChangeLog.MaxChangesPerMessage) + index;

    /// <summary>The first offset whose messages may hold positions at or after <paramref name="position"/>.</summary>
    public static long OffsetOf(long position) => Math.Max(0, (position / StreamChangeLog.MaxChangesPerMessage) - 1);

    /// <summary>The last position the message at <paramref name="offset"/> with <paramref name="changes"/> changes takes.</summary>
    public static long LastPositionOf(long offset, int changes) => PositionOf(offset, Math.Max(0, changes - 1));

    /// <summary>
    /// The records of <paramref name="message"/> at or after <paramref name="fromPosition"/>; null for a message
    /// before it (read only to fill the window).
    /// </summary>
    public LogRecord[]? Accept(StreamMessage message, long fromPosition)
    {
        if (!Remember(message.Origin, message.BatchId) || message.IsBarrier)
        {
            var last = LastPositionOf(message.Offset, message.Changes.Count);
            return last >= fromPosition ? [new LogRecord(last, NoChange.Envelope)] : null;
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

    /// <summary>Records the message id; false when the same origin and batch id is already in the window.</summary>
    private bool Remember(string origin, long batchId)
    {
        var id = (origin, batchId);
        var fresh = !_counts.TryGetValue(id, out var count);
        _counts[id] = count + 1;
        _order.Enqueue(id);
        if (_order.Count > dedupWindow)
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
