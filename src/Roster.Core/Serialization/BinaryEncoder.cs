using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Roster.Core.Serialization;

/// <summary>
/// Appends compact binary values (LEB128 varints, length-prefixed UTF-8) to a buffer. The concrete
/// <see cref="ArrayBufferWriter{T}"/> (not the interface) lets the JIT inline every write.
/// </summary>
internal readonly ref struct BinaryEncoder(ArrayBufferWriter<byte> output)
{
    public void WriteByte(byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    public void WriteVarUInt64(ulong value)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        output.Advance(i);
    }

    public void WriteVarInt64(long value) => WriteVarUInt64((ulong)((value << 1) ^ (value >> 63)));

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarUInt64((ulong)length);
        var written = Encoding.UTF8.GetBytes(value, output.GetSpan(length));
        output.Advance(written);
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteVarUInt64((ulong)value.Length);
        value.CopyTo(output.GetSpan(value.Length));
        output.Advance(value.Length);
    }
}

/// <summary>Reads what <see cref="BinaryEncoder"/> wrote. Throws <see cref="InvalidDataException"/> on malformed input.</summary>
internal ref struct BinaryDecoder(ReadOnlySpan<byte> input)
{
    private readonly ReadOnlySpan<byte> _input = input;
    private int _offset;

    public readonly bool AtEnd => _offset >= _input.Length;

    public byte ReadByte()
    {
        if (_offset >= _input.Length)
        {
            throw new InvalidDataException("Unexpected end of record.");
        }

        return _input[_offset++];
    }

    public ulong ReadVarUInt64()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("Malformed varint.");
    }

    public long ReadVarInt64()
    {
        var raw = ReadVarUInt64();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public int ReadVarInt32() => checked((int)ReadVarInt64());

    public ulong ReadUInt64()
    {
        var value = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        return value;
    }

    public string ReadString() => Encoding.UTF8.GetString(Take(ReadLength()));

    public byte[] ReadBytes() => Take(ReadLength()).ToArray();

    private int ReadLength()
    {
        var length = ReadVarUInt64();
        if (length > (ulong)(_input.Length - _offset))
        {
            throw new InvalidDataException("Length runs past the end of the record.");
        }

        return (int)length;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _input.Length - _offset)
        {
            throw new InvalidDataException("Unexpected end of record.");
        }

        var slice = _input.Slice(_offset, count);
        _offset += count;
        return slice;
    }
}
