namespace Roster.Client;

/// <summary>Where a list of endpoints came from.</summary>
public enum EndpointSource
{
    /// <summary>From the registry, kept current by its watch stream.</summary>
    Live,

    /// <summary>The last list the registry gave, kept while the registry cannot be reached.</summary>
    Cached,

    /// <summary>Read from the cache directory, written by an earlier process, because the registry could not be reached at start.</summary>
    Disk,

    /// <summary>A fixed list given in configuration (<c>static://</c> in <see cref="RosterDiscoveryOptions.Sources"/>): never out of date.</summary>
    Static,
}
