using System.Buffers;
using System.Text.Json;
using Roster.Core.Model;
using Roster.Core.StateMachine;

namespace Roster.Core.Serialization;

/// <summary>
/// The JSON shapes of instances, services and watch events, written with <see cref="Utf8JsonWriter"/>
/// directly: one encoding shared by the HTTP API and the watch stream, and no reflection on hot paths.
/// </summary>
public static class RegistryJson
{
    public static void WriteInstance(Utf8JsonWriter writer, InstanceRecord instance) => WriteInstance(writer, instance, null, null);

    /// <summary>An instance, with its namespace and service first when given (single-instance responses).</summary>
    public static void WriteInstance(Utf8JsonWriter writer, InstanceRecord instance, string? @namespace, string? service)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(instance);
        var r = instance.Registration;
        writer.WriteStartObject();
        if (@namespace is not null && service is not null)
        {
            writer.WriteString("namespace"u8, @namespace);
            writer.WriteString("service"u8, service);
        }

        writer.WriteString("id"u8, instance.Id);
        writer.WriteString("address"u8, r.Address);
        writer.WriteNumber("port"u8, r.Port);
        writer.WriteString("scheme"u8, r.Scheme);
        writer.WriteString("zone"u8, r.Zone);
        writer.WriteString("version"u8, r.Version);
        writer.WriteNumber("weight"u8, r.Weight);
        writer.WriteNumber("effectiveWeight"u8, instance.EffectiveWeight);
        writer.WritePropertyName("metadata"u8);
        writer.WriteRawValue(r.Metadata.Utf8Json, skipInputValidation: true);
        writer.WriteBoolean("persistent"u8, r.Kind == InstanceKind.Persistent);
        writer.WriteNumber("ttlSeconds"u8, r.TtlSeconds);
        writer.WriteNumber("incarnation"u8, instance.Incarnation);
        writer.WriteNumber("revision"u8, instance.Revision);
        writer.WriteBoolean("drained"u8, instance.Operator.Drained);
        writer.WriteBoolean("disabled"u8, instance.Operator.Disabled);
        if (instance.Operator.WeightOverride is { } weightOverride)
        {
            writer.WriteNumber("weightOverride"u8, weightOverride);
        }
        else
        {
            writer.WriteNull("weightOverride"u8);
        }

        writer.WriteEndObject();
    }

    /// <summary>A service snapshot: <c>{name, sequence, digest, instances: [...]}</c>.</summary>
    public static void WriteService(Utf8JsonWriter writer, ServiceState service)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(service);
        writer.WriteStartObject();
        writer.WriteString("name"u8, service.Name);
        writer.WriteNumber("sequence"u8, service.Sequence);
        writer.WriteString("digest"u8, InstanceDigest.Format(service.Digest));
        writer.WriteStartArray("instances"u8);
        foreach (var instance in service.Instances.Values)
        {
            WriteInstance(writer, instance);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The data of an <c>upsert</c> or <c>delete</c> event.</summary>
    public static void WriteChange(Utf8JsonWriter writer, ChangeEvent change)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(change);
        writer.WriteStartObject();
        writer.WriteNumber("revision"u8, change.Revision);
        writer.WriteString("namespace"u8, change.Namespace);
        writer.WriteString("service"u8, change.Service);
        writer.WriteNumber("sequence"u8, change.Sequence);
        writer.WriteString("digest"u8, InstanceDigest.Format(change.Digest));
        if (change.AcceptedAt > 0)
        {
            writer.WriteString("time"u8, DateTimeOffset.FromUnixTimeMilliseconds(change.AcceptedAt));
        }

        if (change.Kind == ChangeEventKind.Delete)
        {
            writer.WriteString("id"u8, change.Instance.Id);
            writer.WriteNumber("incarnation"u8, change.Instance.Incarnation);
            writer.WriteString("reason"u8, change.Reason == DeleteReason.Expired ? "expired"u8 : "deregistered"u8);
        }
        else
        {
            writer.WritePropertyName("instance"u8);
            WriteInstance(writer, change.Instance);
        }

        writer.WriteEndObject();
    }

    /// <summary>One change as a complete Server-Sent Events frame: <c>id</c>, <c>event</c> and <c>data</c> lines.</summary>
    public static byte[] ChangeFrame(ChangeEvent change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return Frame(change.Revision, change.Kind == ChangeEventKind.Delete ? "delete" : "upsert", w => WriteChange(w, change));
    }

    /// <summary>
    /// A <c>reset</c> frame: the full current list of the watched services (all of the namespace when
    /// <paramref name="services"/> is null). The client replaces everything it holds with it.
    /// </summary>
    public static byte[] ResetFrame(RegistryState state, string registryId, string @namespace, IReadOnlySet<string>? services)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Frame(state.Revision, "reset", w =>
        {
            w.WriteStartObject();
            w.WriteNumber("revision"u8, state.Revision);
            w.WriteString("registryId"u8, registryId);
            w.WriteString("namespace"u8, @namespace);
            w.WriteStartArray("services"u8);
            if (state.Namespaces.TryGetValue(@namespace, out var ns))
            {
                if (services is null)
                {
                    foreach (var service in ns.Services.Values)
                    {
                        WriteService(w, service);
                    }
                }
                else
                {
                    foreach (var name in services.Order(StringComparer.Ordinal))
                    {
                        WriteService(w, ns.Services.TryGetValue(name, out var service) ? service : ServiceState.Create(name));
                    }
                }
            }
            else if (services is not null)
            {
                foreach (var name in services.Order(StringComparer.Ordinal))
                {
                    WriteService(w, ServiceState.Create(name));
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>The last frame a disconnected watcher receives: why, and where to resume.</summary>
    public static byte[] DisconnectFrame(string reason, long lastRevision) =>
        Frame(0, "disconnect", w =>
        {
            w.WriteStartObject();
            w.WriteString("reason"u8, reason);
            w.WriteNumber("resumeFrom"u8, lastRevision);
            w.WriteEndObject();
        });

    private static byte[] Frame(long revision, string eventName, Action<Utf8JsonWriter> writeData)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        if (revision > 0)
        {
            Write(buffer, "id: "u8);
            Write(buffer, System.Text.Encoding.ASCII.GetBytes(revision.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Write(buffer, "\n"u8);
        }

        Write(buffer, "event: "u8);
        Write(buffer, System.Text.Encoding.ASCII.GetBytes(eventName));
        Write(buffer, "\ndata: "u8);

        // Compact JSON never contains a raw newline (strings escape it), so one data line suffices.
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writeData(writer);
        }

        Write(buffer, "\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes) => buffer.Write(bytes);
}
