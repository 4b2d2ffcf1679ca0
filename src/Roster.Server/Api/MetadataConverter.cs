using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roster.Server.Api;

/// <summary>
/// Reads the <c>metadata</c> object straight into key/value pairs, without building a dictionary that is
/// copied into the canonical form and dropped. Refuses what a dictionary would: values that are not
/// strings, and a key given twice.
/// </summary>
internal sealed class MetadataConverter : JsonConverter<KeyValuePair<string, string>[]>
{
    public override KeyValuePair<string, string>[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("metadata must be an object of string values.");
        }

        var pairs = new List<KeyValuePair<string, string>>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new MetadataFieldException($"metadata.{key}", $"The value of '{key}' must be a string.");
            }

            pairs.Add(new KeyValuePair<string, string>(key, reader.GetString()!));
        }

        var result = pairs.ToArray();
        Array.Sort(result, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (var i = 1; i < result.Length; i++)
        {
            if (result[i].Key == result[i - 1].Key)
            {
                throw new MetadataFieldException($"metadata.{result[i].Key}", $"The key '{result[i].Key}' is given twice.");
            }
        }

        return result;
    }

    public override void Write(Utf8JsonWriter writer, KeyValuePair<string, string>[] value, JsonSerializerOptions options) =>
        throw new NotSupportedException("Metadata is written from its canonical bytes.");
}
