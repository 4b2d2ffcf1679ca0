using System.Buffers;
using Roster.Core.Log;
using Roster.Core.Model;

namespace Roster.Core.Serialization;

/// <summary>
/// The binary form of log entries and of the records inside checkpoints. The first byte is a format
/// version so the layout can evolve; readers refuse versions they do not know rather than guess.
/// </summary>
internal static class ChangeCodec
{
    // 2 added the time the origin accepted the change, 3 who asked for it; older versions are still read (time
    // unknown, 0; author unknown, null).
    private const byte FormatVersion = 3;

    private enum ChangeType : byte
    {
        Register = 1,
        Deregister = 2,
        Expire = 3,
        Operator = 4,
        ClaimLease = 5,
    }

    [Flags]
    private enum PatchFlags : byte
    {
        None = 0,
        HasDrained = 1,
        Drained = 2,
        HasDisabled = 4,
        Disabled = 8,
        HasWeight = 16,
        ClearWeight = 32,
    }

    public static void Write(ArrayBufferWriter<byte> output, ChangeEnvelope envelope)
    {
        var e = new BinaryEncoder(output);
        e.WriteByte(FormatVersion);
        var change = envelope.Change;
        e.WriteByte((byte)(change switch
        {
            RegisterChange => ChangeType.Register,
            DeregisterChange => ChangeType.Deregister,
            ExpireChange => ChangeType.Expire,
            OperatorChange => ChangeType.Operator,
            ClaimLeaseChange => ChangeType.ClaimLease,
            _ => throw new ArgumentException($"Unknown change type {change.GetType().Name}.", nameof(envelope)),
        }));
        e.WriteString(envelope.Origin);
        e.WriteVarInt64(envelope.RequestId);
        e.WriteVarInt64(envelope.AcceptedAt);
        WriteAuthor(e, envelope.Author);
        WriteKey(e, change.Key);
        switch (change)
        {
            case RegisterChange register:
                WriteRegistration(e, register.Registration);
                e.WriteVarInt64(register.ExpectedIncarnation);
                break;
            case DeregisterChange deregister:
                e.WriteVarInt64(deregister.ExpectedIncarnation);
                break;
            case ExpireChange expire:
                e.WriteVarInt64(expire.Incarnation);
                break;
            case OperatorChange op:
                WritePatch(e, op.Patch);
                break;
            case ClaimLeaseChange claim:
                e.WriteVarInt64(claim.Incarnation);
                break;
        }
    }

    public static ChangeEnvelope Read(ReadOnlySpan<byte> input)
    {
        var d = new BinaryDecoder(input);
        var version = d.ReadByte();
        if (version is < 1 or > FormatVersion)
        {
            throw new InvalidDataException($"Unknown change format version {version}.");
        }

        var type = (ChangeType)d.ReadByte();
        var origin = d.ReadString();
        var requestId = d.ReadVarInt64();
        var acceptedAt = version >= 2 ? d.ReadVarInt64() : 0;
        var author = version >= 3 ? ReadAuthor(ref d) : null;
        var key = ReadKey(ref d);
        Change change = type switch
        {
            ChangeType.Register => new RegisterChange(key, ReadRegistration(ref d), d.ReadVarInt64()),
            ChangeType.Deregister => new DeregisterChange(key, d.ReadVarInt64()),
            ChangeType.Expire => new ExpireChange(key, d.ReadVarInt64()),
            ChangeType.Operator => new OperatorChange(key, ReadPatch(ref d)),
            ChangeType.ClaimLease => new ClaimLeaseChange(key, d.ReadVarInt64()),
            _ => throw new InvalidDataException($"Unknown change type {(byte)type}."),
        };
        return new ChangeEnvelope(origin, requestId, change, acceptedAt, author);
    }

    /// <summary>An author, or null when both of its parts are empty (a change the node made itself). Principals are few
    /// and repeat, so each is shared.</summary>
    internal static WriteAuthor? ReadAuthor(ref BinaryDecoder d)
    {
        var principal = d.ReadString();
        var client = d.ReadString();
        return principal.Length == 0 && client.Length == 0 ? null : new WriteAuthor(Validation.StringPool.Shared.Intern(principal), client);
    }

    internal static void WriteAuthor(BinaryEncoder e, WriteAuthor? author)
    {
        e.WriteString(author?.Principal ?? string.Empty);
        e.WriteString(author?.ClientAddress ?? string.Empty);
    }

    internal static void WriteKey(BinaryEncoder e, InstanceKey key)
    {
        e.WriteString(key.Namespace);
        e.WriteString(key.Service);
        e.WriteString(key.Id);
    }

    internal static InstanceKey ReadKey(ref BinaryDecoder d) => new(d.ReadString(), d.ReadString(), d.ReadString());

    internal static void WriteRegistration(BinaryEncoder e, Registration r)
    {
        e.WriteString(r.Address);
        e.WriteVarInt64(r.Port);
        e.WriteString(r.Scheme);
        e.WriteString(r.Zone);
        e.WriteString(r.Version);
        e.WriteVarInt64(r.Weight);
        e.WriteByte((byte)r.Kind);
        e.WriteVarInt64(r.TtlSeconds);
        e.WriteVarInt64(r.Metadata.Count);
        e.WriteBytes(r.Metadata.Utf8Json);
    }

    internal static Registration ReadRegistration(ref BinaryDecoder d)
    {
        var address = d.ReadString();
        var port = d.ReadVarInt32();
        var scheme = d.ReadString();
        var zone = d.ReadString();
        var version = d.ReadString();
        var weight = d.ReadVarInt32();
        var kind = (InstanceKind)d.ReadByte();
        var ttl = d.ReadVarInt32();
        var metadataCount = d.ReadVarInt32();
        var metadata = InstanceMetadata.FromCanonical(d.ReadBytes(), metadataCount);
        return new Registration(address, port, scheme, zone, version, weight, metadata, kind, ttl);
    }

    internal static void WriteOperator(BinaryEncoder e, OperatorState state) =>
        WritePatch(e, new OperatorPatch(state.Drained, state.Disabled, state.WeightOverride, state.WeightOverride is null));

    internal static OperatorState ReadOperator(ref BinaryDecoder d) => OperatorState.None.Apply(ReadPatch(ref d));

    private static void WritePatch(BinaryEncoder e, OperatorPatch patch)
    {
        var flags = PatchFlags.None;
        if (patch.Drained is { } drained)
        {
            flags |= PatchFlags.HasDrained | (drained ? PatchFlags.Drained : PatchFlags.None);
        }

        if (patch.Disabled is { } disabled)
        {
            flags |= PatchFlags.HasDisabled | (disabled ? PatchFlags.Disabled : PatchFlags.None);
        }

        if (patch.WeightOverride is not null)
        {
            flags |= PatchFlags.HasWeight;
        }

        if (patch.ClearWeightOverride)
        {
            flags |= PatchFlags.ClearWeight;
        }

        e.WriteByte((byte)flags);
        if (patch.WeightOverride is { } weight)
        {
            e.WriteVarInt64(weight);
        }
    }

    private static OperatorPatch ReadPatch(ref BinaryDecoder d)
    {
        var flags = (PatchFlags)d.ReadByte();
        int? weight = flags.HasFlag(PatchFlags.HasWeight) ? d.ReadVarInt32() : null;
        return new OperatorPatch(
            flags.HasFlag(PatchFlags.HasDrained) ? flags.HasFlag(PatchFlags.Drained) : null,
            flags.HasFlag(PatchFlags.HasDisabled) ? flags.HasFlag(PatchFlags.Disabled) : null,
            weight,
            flags.HasFlag(PatchFlags.ClearWeight));
    }
}
