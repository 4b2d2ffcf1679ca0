using System.Buffers.Binary;

namespace Roster.Core.Log.Embedded;

/// <summary>
/// The layout of one record in a segment file:
/// <c>[u32 payload length][u32 CRC-32C of position and payload][u64 position][payload]</c>, little-endian.
/// Positions inside a segment are contiguous, starting at the position the file is named after.
/// </summary>
internal static class SegmentFormat
{
    public const int HeaderSize = 16;
    public const int MaxPayloadSize = 16 * 1024 * 1024;
    public const string Extension = ".seg";

    public static string FileName(long firstPosition) => $"{firstPosition:D20}{Extension}";

    public static long? FirstPositionOf(string path) =>
        long.TryParse(Path.GetFileNameWithoutExtension(path), out var first) ? first : null;

    public static void WriteHeader(Span<byte> header, long position, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], position);
        var crc = Crc32C.Compute(payload, Crc32C.Compute(header.Slice(8, 8)));
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], crc);
    }

    /// <summary>
    /// Reads the record at <paramref name="offset"/>: <see cref="RecordStatus.Incomplete"/> when the file ends
    /// inside it, <see cref="RecordStatus.Invalid"/> when its length is impossible or its checksum fails.
    /// </summary>
    public static RecordStatus ReadRecord(ReadOnlySpan<byte> file, int offset, out long position, out int payloadLength)
    {
        position = 0;
        payloadLength = 0;
        var remaining = file.Length - offset;
        if (remaining < HeaderSize)
        {
            return RecordStatus.Incomplete;
        }

        var header = file.Slice(offset, HeaderSize);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        position = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (length > MaxPayloadSize)
        {
            return RecordStatus.Invalid;
        }

        payloadLength = (int)length;
        if (payloadLength > remaining - HeaderSize)
        {
            return RecordStatus.Incomplete;
        }

        return Checksum(header, file.Slice(offset + HeaderSize, payloadLength)) == BinaryPrimitives.ReadUInt32LittleEndian(header[4..])
            ? RecordStatus.Valid
            : RecordStatus.Invalid;
    }

    /// <summary>The checksum a header stores for its position and <paramref name="payload"/>.</summary>
    public static uint Checksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload) =>
        Crc32C.Compute(payload, Crc32C.Compute(header.Slice(8, 8)));
}

internal enum RecordStatus
{
    Valid,
    Incomplete,
    Invalid,
}
