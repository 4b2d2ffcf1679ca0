using System.Buffers.Binary;

namespace Roster.Core.Log.Embedded;

/// <summary>
/// The layout of one record in a segment file:
/// <c>[u32 payload length][u32 CRC-32C of position and payload][u64 position][payload]</c>, little-endian.
/// A record whose length or checksum does not hold marks the end of the valid log (a torn write).
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
    /// Reads the records of one segment. Stops at the end of the file or at the first record that is
    /// incomplete or fails its checksum; <paramref name="validLength"/> is the length of the good prefix.
    /// </summary>
    public static List<(long Position, byte[] Payload)> ReadAll(string path, out long validLength)
    {
        var records = new List<(long, byte[])>();
        var bytes = File.ReadAllBytes(path);
        var offset = 0;
        while (bytes.Length - offset >= HeaderSize)
        {
            var header = bytes.AsSpan(offset, HeaderSize);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length > MaxPayloadSize || length > bytes.Length - offset - HeaderSize)
            {
                break;
            }

            var position = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
            var payload = bytes.AsSpan(offset + HeaderSize, (int)length);
            var expected = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (Crc32C.Compute(payload, Crc32C.Compute(header.Slice(8, 8))) != expected)
            {
                break;
            }

            records.Add((position, payload.ToArray()));
            offset += HeaderSize + (int)length;
        }

        validLength = offset;
        return records;
    }
}
