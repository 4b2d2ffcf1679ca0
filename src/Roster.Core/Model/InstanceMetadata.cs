using System.Text;
using System.Text.Json;

namespace Roster.Core.Model;

/// <summary>
/// Instance metadata held in its canonical encoding: a UTF-8 JSON object with keys in ordinal order.
/// Keeping the bytes (instead of a dictionary) costs a fraction of the memory, makes equality a byte
/// comparison, and lets responses and watch events copy the object without re-encoding it.
/// </summary>
public sealed class InstanceMetadata : IEquatable<InstanceMetadata>
{
    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    private readonly byte[] _utf8Json;

    private InstanceMetadata(byte[] utf8Json, int count)
    {
        _utf8Json = utf8Json;
        Count = count;
    }

    public static InstanceMetadata Empty { get; } = new(EmptyObject, 0);

    /// <summary>The canonical JSON object.</summary>
    public ReadOnlySpan<byte> Utf8Json => _utf8Json;

    public int Count { get; }

    /// <summary>Builds the canonical form. Callers validate sizes first (see <c>RegistrationValidator</c>).</summary>
    public static InstanceMetadata From(IEnumerable<KeyValuePair<string, string>>? pairs)
    {
        if (pairs is null)
        {
            return Empty;
        }

        var sorted = pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + (sorted.Length * 32));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in sorted)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return new InstanceMetadata(buffer.WrittenSpan.ToArray(), sorted.Length);
    }

    /// <summary>Restores metadata from its canonical bytes (as stored in the log).</summary>
    internal static InstanceMetadata FromCanonical(byte[] utf8Json, int count) =>
        count == 0 ? Empty : new InstanceMetadata(utf8Json, count);

    public IReadOnlyDictionary<string, string> ToDictionary()
    {
        var result = new Dictionary<string, string>(Count, StringComparer.Ordinal);
        var reader = new Utf8JsonReader(_utf8Json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            result[key] = reader.GetString()!;
        }

        return result;
    }

    public bool Equals(InstanceMetadata? other) =>
        other is not null && (ReferenceEquals(this, other) || _utf8Json.AsSpan().SequenceEqual(other._utf8Json));

    public override bool Equals(object? obj) => Equals(obj as InstanceMetadata);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_utf8Json);
        return hash.ToHashCode();
    }

    public override string ToString() => Encoding.UTF8.GetString(_utf8Json);
}
