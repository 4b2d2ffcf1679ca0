namespace Roster.Core.Leases;

/// <summary>The answer to one renewal.</summary>
public enum RenewStatus : byte
{
    Ok,

    /// <summary>No such instance: the client registers again.</summary>
    Unknown,

    /// <summary>The instance was registered again since; this incarnation is over.</summary>
    StaleIncarnation,
}
