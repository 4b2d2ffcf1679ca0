using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roster.Cli.Commands;

/// <summary>JSON output of the CLI: indented by default; <see cref="Compact"/> for NDJSON lines.</summary>
[JsonSerializable(typeof(JsonElement))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>One line per value.</summary>
    public static CliJsonContext Compact { get; } = new(new JsonSerializerOptions { WriteIndented = false });
}
