namespace Roster.Core.Node;

/// <summary>Who this registry and node are. The registry id is created once and kept with the data.</summary>
public sealed record RegistryIdentity(string RegistryId, string NodeId)
{
    public static RegistryIdentity CreateNew() => new(NewId(), NewId());

    internal static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>Ids are 32 lowercase hex digits; anything else in an id file is damage.</summary>
    internal static bool IsValidId(string value) => value.Length == 32 && value.All(char.IsAsciiHexDigitLower);
}
