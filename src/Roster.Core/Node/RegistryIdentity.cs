namespace Roster.Core.Node;

/// <summary>Who this registry and node are. The registry id is created once and kept with the data.</summary>
public sealed record RegistryIdentity(string RegistryId, string NodeId)
{
    public static RegistryIdentity CreateNew() => new(NewId(), NewId());

    internal static string NewId() => Guid.NewGuid().ToString("N");
}
