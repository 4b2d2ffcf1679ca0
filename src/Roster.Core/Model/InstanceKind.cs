namespace Roster.Core.Model;

/// <summary>How an instance stays registered.</summary>
public enum InstanceKind : byte
{
    /// <summary>Held by a lease: removed when the provider stops renewing it.</summary>
    Ephemeral = 0,

    /// <summary>Stays until it is deleted explicitly.</summary>
    Persistent = 1,
}
