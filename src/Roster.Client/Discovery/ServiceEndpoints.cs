using System.Collections.Immutable;

namespace Roster.Client;

/// <summary>
/// An immutable list of a service's endpoints, with where it came from and when: readers share it
/// without locks, and a change replaces the whole object.
/// </summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Service">The service.</param>
/// <param name="Sequence">The service's sequence in the registry when the list was made (it grows with every change to the service).</param>
/// <param name="Endpoints">The endpoints, in the registry's order.</param>
/// <param name="Source">Where the list came from.</param>
/// <param name="UpdatedAt">When the list was last confirmed current.</param>
public sealed record ServiceEndpoints(
    string Namespace, string Service, long Sequence, ImmutableArray<ServiceEndpoint> Endpoints, EndpointSource Source, DateTimeOffset UpdatedAt)
{
    /// <summary>How old the list is at <paramref name="now"/>.</summary>
    public TimeSpan AgeAt(DateTimeOffset now) => now - UpdatedAt;
}
