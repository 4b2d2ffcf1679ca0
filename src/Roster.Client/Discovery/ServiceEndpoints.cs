using System.Collections.Immutable;

namespace Roster.Client;

/// <summary>
/// An immutable list of a service's endpoints, with where it came from and when: readers share it
/// without locks, and a change replaces the whole object.
/// </summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Service">The service.</param>
/// <param name="Sequence">The service's sequence in the registry when the list was made (it grows with every change to the service);
/// for a list from another source, that source's version (etcd's revision).</param>
/// <param name="Endpoints">The endpoints, in the registry's order.</param>
/// <param name="Source">Where the list came from.</param>
/// <param name="UpdatedAt">
/// For a <see cref="EndpointSource.Live"/> list, when it last changed; for a <see cref="EndpointSource.Cached"/>
/// list, when its source (the registry, etcd, ...) was last reachable; for a <see cref="EndpointSource.Disk"/> list, when it was saved; for a
/// <see cref="EndpointSource.Static"/> list, when it was read from configuration.
/// </param>
public sealed record ServiceEndpoints(
    string Namespace, string Service, long Sequence, ImmutableArray<InstanceEndpoint> Endpoints, EndpointSource Source, DateTimeOffset UpdatedAt)
{
    /// <summary>The origin of a list from the Roster registry.</summary>
    public const string RegistryOrigin = "registry";

    /// <summary>
    /// What the list was read from: <c>registry</c> (Roster's), or the scheme of the service's entry in
    /// <see cref="RosterDiscoveryOptions.Sources"/> (<c>static</c>, <c>etcd</c>, ...). <see cref="Source"/> says how current it is.
    /// </summary>
    public string Origin { get; init; } = RegistryOrigin;

    /// <summary>
    /// How long the list may have been out of date at <paramref name="now"/>: zero while the registry's
    /// watch keeps it current (and for a static list), else the time since it was last known current.
    /// </summary>
    public TimeSpan AgeAt(DateTimeOffset now) => Source is EndpointSource.Live or EndpointSource.Static || now < UpdatedAt ? TimeSpan.Zero : now - UpdatedAt;
}
