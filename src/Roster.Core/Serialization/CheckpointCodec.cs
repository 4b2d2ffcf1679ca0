using System.Buffers;
using System.Collections.Immutable;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.StateMachine;

namespace Roster.Core.Serialization;

/// <summary>Binary form of a <see cref="Checkpoint"/>. Checksummed by the file that holds it.</summary>
internal static class CheckpointCodec
{
    // 2 added each instance's lease owner, 3 the time of each change in the history, 4 each change's source (node,
    // command, author); older versions are still read (owners, times and sources unknown).
    private const byte FormatVersion = 4;

    // Runs rarely but over the whole registry: optimize at once instead of starting from tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Write(ArrayBufferWriter<byte> output, Checkpoint checkpoint)
    {
        var e = new BinaryEncoder(output);
        e.WriteByte(FormatVersion);
        var state = checkpoint.State;
        e.WriteVarInt64(state.Revision);
        e.WriteVarInt64(state.Namespaces.Count);
        foreach (var ns in state.Namespaces.Values)
        {
            e.WriteString(ns.Name);
            e.WriteVarInt64(ns.Services.Count);
            foreach (var service in ns.Services.Values)
            {
                e.WriteString(service.Name);
                e.WriteVarInt64(service.Sequence);
                e.WriteVarInt64(service.Operators.Count);
                foreach (var (id, op) in service.Operators)
                {
                    e.WriteString(id);
                    ChangeCodec.WriteOperator(e, op);
                }

                e.WriteVarInt64(service.Instances.Count);
                foreach (var instance in service.Instances.Values)
                {
                    WriteInstance(e, instance);
                }
            }
        }

        e.WriteVarInt64(checkpoint.HistoryCoveredFrom);
        e.WriteVarInt64(checkpoint.History.Count);
        foreach (var change in checkpoint.History)
        {
            e.WriteVarInt64(change.Revision);
            e.WriteString(change.Namespace);
            e.WriteString(change.Service);
            e.WriteVarInt64(change.Sequence);
            e.WriteUInt64(change.Digest);
            e.WriteByte((byte)change.Kind);
            e.WriteByte((byte)change.Reason);
            e.WriteVarInt64(change.AcceptedAt);
            WriteSource(e, change.Source);
            WriteInstance(e, change.Instance);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static Checkpoint Read(ReadOnlySpan<byte> input)
    {
        var d = new BinaryDecoder(input);
        var version = d.ReadByte();
        if (version is < 1 or > FormatVersion)
        {
            throw new InvalidDataException($"Unknown checkpoint format version {version}.");
        }

        var revision = d.ReadVarInt64();
        var namespaces = ImmutableSortedDictionary.CreateBuilder<string, NamespaceState>(StringComparer.Ordinal);
        var instanceCount = 0;
        var namespaceCount = d.ReadVarInt32();
        for (var n = 0; n < namespaceCount; n++)
        {
            var nsName = d.ReadString();
            var services = ImmutableSortedDictionary.CreateBuilder<string, ServiceState>(StringComparer.Ordinal);
            var serviceCount = d.ReadVarInt32();
            for (var s = 0; s < serviceCount; s++)
            {
                var name = d.ReadString();
                var sequence = d.ReadVarInt64();
                var operators = ImmutableDictionary.CreateBuilder<string, OperatorState>(StringComparer.Ordinal);
                var operatorCount = d.ReadVarInt32();
                for (var o = 0; o < operatorCount; o++)
                {
                    operators[d.ReadString()] = ChangeCodec.ReadOperator(ref d);
                }

                var instances = ImmutableSortedDictionary.CreateBuilder<string, InstanceRecord>(StringComparer.Ordinal);
                ulong digest = 0;
                var count = d.ReadVarInt32();
                for (var i = 0; i < count; i++)
                {
                    var instance = ReadInstance(ref d, version);
                    instances[instance.Id] = instance;
                    digest ^= instance.Hash;
                }

                instanceCount += count;
                services[name] = new ServiceState(name, sequence, digest, instances.ToImmutable(), operators.ToImmutable());
            }

            namespaces[nsName] = new NamespaceState(nsName, services.ToImmutable());
        }

        var coveredFrom = d.ReadVarInt64();
        var historyCount = d.ReadVarInt32();
        var history = new List<ChangeEvent>(historyCount);
        for (var h = 0; h < historyCount; h++)
        {
            var changeRevision = d.ReadVarInt64();
            var ns = d.ReadString();
            var service = d.ReadString();
            var sequence = d.ReadVarInt64();
            var digest = d.ReadUInt64();
            var kind = (ChangeEventKind)d.ReadByte();
            var reason = (DeleteReason)d.ReadByte();
            var acceptedAt = version >= 3 ? d.ReadVarInt64() : 0;
            var source = version >= 4 ? ReadSource(ref d) : null;
            history.Add(new ChangeEvent(changeRevision, ns, service, sequence, digest, kind, ReadInstance(ref d, version), reason, acceptedAt, source));
        }

        return new Checkpoint(new RegistryState(revision, namespaces.ToImmutable(), instanceCount), history, coveredFrom);
    }

    private static void WriteSource(BinaryEncoder e, ChangeSource? source)
    {
        e.WriteByte((byte)(source?.Cause ?? 0));
        if (source is not null)
        {
            e.WriteString(source.Node);
            ChangeCodec.WriteAuthor(e, source.Author);
        }
    }

    private static ChangeSource? ReadSource(ref BinaryDecoder d)
    {
        var cause = (ChangeCause)d.ReadByte();
        return cause == 0
            ? null
            : new ChangeSource(Validation.StringPool.Shared.Intern(d.ReadString()), cause, ChangeCodec.ReadAuthor(ref d));
    }

    private static void WriteInstance(BinaryEncoder e, InstanceRecord instance)
    {
        e.WriteString(instance.Id);
        ChangeCodec.WriteRegistration(e, instance.Registration);
        ChangeCodec.WriteOperator(e, instance.Operator);
        e.WriteVarInt64(instance.Incarnation);
        e.WriteVarInt64(instance.Revision);
        e.WriteString(instance.Owner);
    }

    private static InstanceRecord ReadInstance(ref BinaryDecoder d, byte version)
    {
        var id = d.ReadString();
        var registration = ChangeCodec.ReadRegistration(ref d);
        var op = ChangeCodec.ReadOperator(ref d);
        var incarnation = d.ReadVarInt64();
        var revision = d.ReadVarInt64();
        var owner = version >= 2 ? Validation.StringPool.Shared.Intern(d.ReadString()) : string.Empty;
        return new InstanceRecord(id, registration, op, incarnation, revision, owner);
    }
}
