using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Roster.Server.Api.Eureka;

/// <summary>
/// One gzip stream assembled from parts compressed on their own, so a document of many parts is compressed again only
/// where it changed. Each part is raw deflate from a fresh compressor ended by a sync flush: byte-aligned, not final,
/// and referring to nothing before it, so parts concatenate into one valid deflate stream (as pigz joins its blocks),
/// closed by an empty final block; the gzip trailer's CRC-32 and length cover the parts' plain bytes.
/// </summary>
internal static class GzipFragments
{
    private static readonly byte[] Header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

    /// <summary>An empty final block with fixed codes: BFINAL 1, BTYPE 01, end of block.</summary>
    private static readonly byte[] FinalBlock = [0x03, 0x00];

    /// <summary>A part compressed on its own.</summary>
    public sealed class Part(byte[] plain)
    {
        private readonly Lazy<byte[]> _deflated = new(() => Deflate(plain));

        public byte[] Plain => plain;

        public byte[] Deflated => _deflated.Value;
    }

    /// <summary>The parts' plain bytes, one after another.</summary>
    public static byte[] Concatenate(IReadOnlyList<Part> parts)
    {
        var length = 0;
        foreach (var part in parts)
        {
            length += part.Plain.Length;
        }

        var body = new byte[length];
        var at = 0;
        foreach (var part in parts)
        {
            part.Plain.CopyTo(body, at);
            at += part.Plain.Length;
        }

        return body;
    }

    /// <summary>The gzip stream of the parts' plain bytes, one after another.</summary>
    public static byte[] Gzip(IReadOnlyList<Part> parts)
    {
        var crc = new Crc32();
        long length = Header.Length + FinalBlock.Length + 8;
        long plainLength = 0;
        foreach (var part in parts)
        {
            crc.Append(part.Plain);
            plainLength += part.Plain.Length;
            length += part.Deflated.Length;
        }

        var gzip = new byte[length];
        Header.CopyTo(gzip, 0);
        var at = Header.Length;
        foreach (var part in parts)
        {
            part.Deflated.CopyTo(gzip, at);
            at += part.Deflated.Length;
        }

        FinalBlock.CopyTo(gzip, at);
        at += FinalBlock.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(gzip.AsSpan(at), crc.GetCurrentHashAsUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(gzip.AsSpan(at + 4), unchecked((uint)plainLength));
        return gzip;
    }

    private static byte[] Deflate(byte[] plain)
    {
        using var buffer = new MemoryStream(plain.Length / 6 + 64);
        var deflate = new DeflateStream(buffer, CompressionLevel.Fastest, leaveOpen: true);
        deflate.Write(plain);

        // A sync flush: everything written so far, ending on a byte boundary, with no final block.
        deflate.Flush();
        var part = buffer.ToArray();

        // Disposing writes a final block into the buffer, which the part does not include.
        deflate.Dispose();
        return part;
    }
}
