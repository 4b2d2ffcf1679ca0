namespace Roster.Core.Log.Embedded;

/// <summary>What a segment file holds: its intact prefix, and what kind of damage follows it.</summary>
internal enum SegmentCondition
{
    /// <summary>Every byte belongs to a valid record in sequence.</summary>
    Intact,

    /// <summary>The newest segment ends in a write that a crash cut short: it was never acknowledged, and
    /// cutting it loses nothing.</summary>
    TornTail,

    /// <summary>Anything else: a bad record in a closed segment, a bad record followed by valid ones, a record
    /// whose length was damaged, a record out of sequence.</summary>
    Corrupt,
}

/// <summary>
/// The result of checking one segment file without changing it.
/// <para>
/// Only a crash can legitimately leave a bad record, and only at the end of the newest segment (a write
/// that was never fsynced, so never acknowledged). Everything else is damage to acknowledged data, and
/// telling the two apart is what keeps recovery from cutting valid records: a torn tail is incomplete (the
/// file ends inside the record) or ends in zeros from a sector boundary on (space the file system had
/// allocated but not yet written), and no valid record follows it.
/// </para>
/// </summary>
internal sealed record SegmentScan(
    string Path,
    long FirstPosition,
    long FileLength,
    long ValidLength,
    long LastValidPosition,
    SegmentCondition Condition,
    long? HighestPositionAfterDamage,
    string? Damage)
{
    // Unwritten space after a crash starts at a sector boundary; 512 bytes is the smallest sector in use.
    private const int SectorSize = 512;

    public bool IsEmpty => LastValidPosition < FirstPosition;

    /// <summary>Scans <paramref name="path"/>, whose records must start at <paramref name="firstPosition"/>.
    /// Only the newest segment (<paramref name="isNewest"/>) may end in a torn write.</summary>
    public static SegmentScan Of(string path, long firstPosition, bool isNewest)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = 0;
        var expected = firstPosition;
        var status = RecordStatus.Valid;
        var position = 0L;
        var length = 0;
        while (offset < bytes.Length)
        {
            status = SegmentFormat.ReadRecord(bytes, offset, out position, out length);
            if (status != RecordStatus.Valid || position != expected)
            {
                break;
            }

            offset += SegmentFormat.HeaderSize + length;
            expected++;
        }

        if (offset == bytes.Length)
        {
            return new SegmentScan(path, firstPosition, bytes.Length, offset, expected - 1, SegmentCondition.Intact, null, null);
        }

        var later = HighestValidPositionAfter(bytes, offset, expected);
        string damage;
        if (status == RecordStatus.Valid)
        {
            damage = $"the record at byte {offset} holds revision {position} where revision {expected} belongs";
        }
        else if (later is not null)
        {
            damage = $"the record at byte {offset} is unreadable and valid records up to revision {later} follow it";
        }
        else if (!isNewest)
        {
            damage = $"the record at byte {offset} is unreadable in a closed segment (it was complete when the segment was closed)";
        }
        else if (IsTornTail(bytes, offset, status, length))
        {
            return new SegmentScan(path, firstPosition, bytes.Length, offset, expected - 1, SegmentCondition.TornTail, null,
                $"the last {bytes.Length - offset} bytes are a write cut short by a crash");
        }
        else
        {
            damage = $"the record at byte {offset} is complete but fails its checksum";
        }

        return new SegmentScan(path, firstPosition, bytes.Length, offset, expected - 1, SegmentCondition.Corrupt, later, damage);
    }

    /// <summary>
    /// Whether the bad record at <paramref name="offset"/>, with nothing valid after it, is what a crash
    /// leaves: a record the file ends inside (unless its checksum matches the rest of the file, which means
    /// its length field was damaged), or a record that turns into zeros at a sector boundary and stays zero
    /// to the end of the file.
    /// </summary>
    private static bool IsTornTail(byte[] bytes, int offset, RecordStatus status, int length)
    {
        var tail = bytes.AsSpan(offset);
        if (tail.Length < SegmentFormat.HeaderSize)
        {
            return true;
        }

        if (status == RecordStatus.Incomplete)
        {
            var stored = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
            return SegmentFormat.Checksum(tail, tail[SegmentFormat.HeaderSize..]) != stored;
        }

        var zerosFrom = offset + tail.LastIndexOfAnyExcept((byte)0) + 1;
        if (zerosFrom == offset)
        {
            return true;
        }

        var boundary = (zerosFrom + SectorSize - 1) / SectorSize * SectorSize;
        var recordEnd = (long)offset + SegmentFormat.HeaderSize + length;
        // A record wholly before the boundary was written whole, so its bad checksum is damage.
        return boundary < bytes.Length && boundary < recordEnd;
    }

    /// <summary>
    /// Looks for valid records anywhere after a bad one (bytes may have been removed or shifted), and returns
    /// the highest revision among them. Only positions that could follow the damage are considered, which
    /// keeps checksum computations rare.
    /// </summary>
    private static long? HighestValidPositionAfter(byte[] bytes, int damageOffset, long expected)
    {
        long? highest = null;
        var offset = damageOffset + 1;
        while (offset <= bytes.Length - SegmentFormat.HeaderSize)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
            var position = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset + 8));
            var mostRecords = ((long)offset - damageOffset) / SegmentFormat.HeaderSize + 1;
            if (length <= bytes.Length - offset - SegmentFormat.HeaderSize
                && position >= expected
                && position <= expected + mostRecords
                && SegmentFormat.ReadRecord(bytes, offset, out _, out var payloadLength) == RecordStatus.Valid)
            {
                highest = Math.Max(highest ?? position, position);
                offset += SegmentFormat.HeaderSize + payloadLength;
                continue;
            }

            offset++;
        }

        return highest;
    }
}
