namespace Roster.Client;

/// <summary>What the registry did with one lease of a batch renewal.</summary>
public enum RenewalResult
{
    /// <summary>Renewed for another TTL.</summary>
    Ok,

    /// <summary>The registry has no such instance (it expired or was deregistered): register again.</summary>
    Unknown,

    /// <summary>The instance was registered again since: this incarnation is gone; register again.</summary>
    StaleIncarnation,
}
