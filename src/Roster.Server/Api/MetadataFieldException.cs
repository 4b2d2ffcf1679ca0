using System.Text.Json;

namespace Roster.Server.Api;

/// <summary>A metadata error that knows which key it is about, so the problem names <c>metadata.key</c>.</summary>
internal sealed class MetadataFieldException(string field, string message) : JsonException(message)
{
    public string Field { get; } = field;
}
