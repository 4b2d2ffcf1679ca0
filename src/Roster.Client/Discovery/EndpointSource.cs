namespace Roster.Client;

/// <summary>Where a list of endpoints came from.</summary>
public enum EndpointSource
{
    /// <summary>From the registry (or the source named by the list's <see cref="ServiceEndpoints.Origin"/>), kept current by its watch.</summary>
    Live,

    /// <summary>The last list the registry (or the list's other source) gave, kept while it cannot be reached.</summary>
    Cached,

    /// <summary>Read from the cache directory, written by an earlier process, because the registry (or the list's other source) could not be reached at start.</summary>
    Disk,

    /// <summary>A fixed list given in configuration (<c>static://</c> in <see cref="RosterDiscoveryOptions.Sources"/>): never out of date.</summary>
    Static,
}
