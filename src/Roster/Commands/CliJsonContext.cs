using System.Text.Json;

namespace Roster.Cli.Commands;

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
