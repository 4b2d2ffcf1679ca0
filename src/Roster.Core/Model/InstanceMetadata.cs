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

    [ThreadStatic]
    private static CanonicalWriter? t_writer;

    /// <summary>Builds the canonical form. Callers validate sizes first (see <c>RegistrationInput</c>).</summary>
    public static InstanceMetadata From(IEnumerable<KeyValuePair<string, string>>? pairs)
    {
        if (pairs is null)
        {
            return Empty;
        }

        var sorted = pairs.ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }

        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));

        // One reusable buffer and writer per thread: the only allocation left is the result.
        var canonical = t_writer ??= new CanonicalWriter();
        canonical.Buffer.ResetWrittenCount();
        canonical.Writer.Reset(canonical.Buffer);
        canonical.Writer.WriteStartObject();
        foreach (var (key, value) in sorted)
        {
            canonical.Writer.WriteString(key, value);
        }

        canonical.Writer.WriteEndObject();
        canonical.Writer.Flush();
        return new InstanceMetadata(canonical.Buffer.WrittenSpan.ToArray(), sorted.Length);
    }

    /// <summary>The entries, in key order: decoded from the canonical bytes on each call (for reads that need the strings).</summary>
    public List<KeyValuePair<string, string>> Pairs()
    {
        var pairs = new List<KeyValuePair<string, string>>(Count);
        var reader = new Utf8JsonReader(_utf8Json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                pairs.Add(new(key, reader.GetString()!));
            }
        }

        return pairs;
    }

    /// <summary>Restores metadata from its canonical bytes (as stored in the log).</summary>
    internal static InstanceMetadata FromCanonical(byte[] utf8Json, int count) =>
        count == 0 ? Empty : new InstanceMetadata(utf8Json, count);

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

    private sealed class CanonicalWriter
    {
        public System.Buffers.ArrayBufferWriter<byte> Buffer { get; } = new(512);

        public Utf8JsonWriter Writer { get; }

        public CanonicalWriter() => Writer = new Utf8JsonWriter(Buffer);
    }
}
