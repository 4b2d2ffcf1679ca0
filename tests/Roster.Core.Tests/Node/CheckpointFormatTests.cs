using System.Buffers;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Serialization;
using Roster.Core.StateMachine;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Node;

/// <summary>Checkpoints written before lease owners were recorded (format 1) still load: an upgrade must
/// never turn an existing data directory into one that refuses to start.</summary>
public sealed class CheckpointFormatTests
{
    [Fact]
    public void AFormat1Checkpoint_Loads_WithOwnersUnknown()
    {
        var instance = new InstanceRecord("a1", Registrations.Ephemeral(port: 8080), OperatorState.None, 7, 9);
        var buffer = new ArrayBufferWriter<byte>();
        var e = new BinaryEncoder(buffer);

        // Format 1, as the node wrote it until owners were added: one namespace, one service, one instance,
        // then a history of one event.
        e.WriteByte(1);
        e.WriteVarInt64(9);
        e.WriteVarInt64(1);
        e.WriteString("prod");
        e.WriteVarInt64(1);
        e.WriteString("orders");
        e.WriteVarInt64(2);
        e.WriteVarInt64(0);
        e.WriteVarInt64(1);
        WriteFormat1Instance(e, instance);
        e.WriteVarInt64(8);
        e.WriteVarInt64(1);
        e.WriteVarInt64(9);
        e.WriteString("prod");
        e.WriteString("orders");
        e.WriteVarInt64(2);
        e.WriteUInt64(instance.Hash);
        e.WriteByte((byte)ChangeEventKind.Upsert);
        e.WriteByte((byte)DeleteReason.None);
        WriteFormat1Instance(e, instance);

        var checkpoint = CheckpointCodec.Read(buffer.WrittenSpan);

        var loaded = checkpoint.State.FindInstance(new InstanceKey("prod", "orders", "a1"))!;
        Assert.Equal(9, checkpoint.State.Revision);
        Assert.Equal((7L, 9L, 8080, string.Empty), (loaded.Incarnation, loaded.Revision, loaded.Registration.Port, loaded.Owner));
        Assert.Equal(instance.Hash, checkpoint.State.FindService("prod", "orders")!.Digest);
        Assert.Equal((9L, 0L), (Assert.Single(checkpoint.History).Revision, checkpoint.History[0].AcceptedAt));
    }

    [Fact]
    public void TheCurrentFormat_KeepsEachInstancesOwner_AndTheTimeAndSourceOfEachChange()
    {
        var instance = new InstanceRecord("a1", Registrations.Ephemeral(), OperatorState.None, 3, 3, owner: "0000000000000000000000000000000b");
        var state = RegistryState.Empty with { Revision = 3 };
        var machine = new RegistryStateMachine(state);
        var events = new List<ChangeEvent>();
        machine.Apply(4, new Roster.Core.Log.RegisterChange(new InstanceKey("prod", "orders", "a1"), instance.Registration, 0), events, instance.Owner, acceptedAt: 1_764_770_404_321, new Roster.Core.Log.WriteAuthor("deployer", "10.1.2.3"));
        var buffer = new ArrayBufferWriter<byte>();
        CheckpointCodec.Write(buffer, new Checkpoint(machine.State, events, 3));

        var read = CheckpointCodec.Read(buffer.WrittenSpan);

        Assert.Equal(instance.Owner, read.State.FindInstance(new InstanceKey("prod", "orders", "a1"))!.Owner);
        Assert.Equal(1_764_770_404_321, Assert.Single(read.History).AcceptedAt);
        Assert.Equal(new ChangeSource(instance.Owner, ChangeCause.Register, new Roster.Core.Log.WriteAuthor("deployer", "10.1.2.3")), read.History[0].Source);
    }

    private static void WriteFormat1Instance(BinaryEncoder e, InstanceRecord instance)
    {
        e.WriteString(instance.Id);
        ChangeCodec.WriteRegistration(e, instance.Registration);
        ChangeCodec.WriteOperator(e, instance.Operator);
        e.WriteVarInt64(instance.Incarnation);
        e.WriteVarInt64(instance.Revision);
    }
}
