using System.Buffers;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Serialization;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Log;

/// <summary>Log entries carry the time their origin accepted them and who asked for them; entries written before that
/// (formats 1 and 2) still read, with the time or author unknown, so an upgraded node replays an old log.</summary>
public sealed class ChangeFormatTests
{
    private static readonly InstanceKey Key = new("prod", "orders", "a1");

    [Fact]
    public void AnEntry_KeepsWhoAppendedIt_WhenAndForWhom()
    {
        var written = new ChangeEnvelope(
            "node-b", 42, new RegisterChange(Key, Registrations.Ephemeral(port: 8080), 0), AcceptedAt: 1_764_770_404_321, new WriteAuthor("deployer", "10.1.2.3"));
        var buffer = new ArrayBufferWriter<byte>();
        ChangeCodec.Write(buffer, written);

        var read = ChangeCodec.Read(buffer.WrittenSpan);

        Assert.Equal((written.Origin, written.RequestId, written.AcceptedAt, written.Author), (read.Origin, read.RequestId, read.AcceptedAt, read.Author));
        Assert.Equal(written.Change, read.Change);
    }

    [Fact]
    public void AFormat1Entry_Reads_WithTheTimeUnknown()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var e = new BinaryEncoder(buffer);

        // Format 1, as nodes wrote it before entries carried a time: a deregistration of incarnation 7.
        e.WriteByte(1);
        e.WriteByte(2);
        e.WriteString("node-b");
        e.WriteVarInt64(42);
        ChangeCodec.WriteKey(e, Key);
        e.WriteVarInt64(7);

        var read = ChangeCodec.Read(buffer.WrittenSpan);

        Assert.Equal(new DeregisterChange(Key, 7), read.Change);
        Assert.Equal(("node-b", 42L, 0L), (read.Origin, read.RequestId, read.AcceptedAt));
    }

    [Fact]
    public void AFormat2Entry_Reads_WithItsTime_AndTheAuthorUnknown()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var e = new BinaryEncoder(buffer);
        e.WriteByte(2);
        e.WriteByte(3);
        e.WriteString("node-b");
        e.WriteVarInt64(0);
        e.WriteVarInt64(1_764_770_404_321);
        ChangeCodec.WriteKey(e, Key);
        e.WriteVarInt64(7);

        var read = ChangeCodec.Read(buffer.WrittenSpan);

        Assert.Equal(new ExpireChange(Key, 7), read.Change);
        Assert.Equal((1_764_770_404_321L, (WriteAuthor?)null), (read.AcceptedAt, read.Author));
    }

    [Fact]
    public void AnEntryFromALaterFormat_IsRefused_NotGuessed()
    {
        Assert.Throws<InvalidDataException>(() => ChangeCodec.Read([9, 1]));
    }
}
