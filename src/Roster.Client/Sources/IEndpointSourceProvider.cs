namespace Roster.Client.Sources;

/// <summary>
/// Reads services from somewhere other than the Roster registry: the targets of <see cref="RosterDiscoveryOptions.Sources"/>
/// that start with <see cref="Scheme"/><c>://</c> (etcd, Kubernetes, ...). Add one to
/// <see cref="RosterDiscoveryOptions.SourceProviders"/> (the packages that bring one have a method that does it, such as
/// Roster.Client.Etcd's <c>AddEtcdSources()</c>). Discovery then gives the lists it reports the guarantees of its own:
/// load balancing and ejection, the empty-list guard, the list's age, the cache directory, telemetry.
/// </summary>
public interface IEndpointSourceProvider
{
    /// <summary>The scheme of the targets this provider reads, without <c>://</c>: <c>etcd</c> for <c>etcd://...</c>.</summary>
    string Scheme { get; }

    /// <summary>Why <paramref name="target"/> cannot be read (naming what is wrong), or null when it can.</summary>
    string? Check(string target);

    /// <summary>
    /// Reads <paramref name="target"/> and reports each whole list, then each change, to <paramref name="feed"/> until
    /// <paramref name="cancellationToken"/> is cancelled (the service's entry changed or discovery stopped). It does not
    /// end on its own: it keeps trying while the source cannot be reached, saying so through
    /// <see cref="EndpointSourceFeed.Unreachable"/>. Should it throw, discovery logs the error, keeps the last list
    /// (reported as out of date) and calls it again after a pause.
    /// </summary>
    Task FollowAsync(string target, EndpointSourceFeed feed, CancellationToken cancellationToken);
}
