using System.Collections.Immutable;

namespace Roster.Core.Model;

/// <summary>
/// The whole registry at one revision. Immutable: readers take the current value from a volatile
/// field and never lock; the single applier publishes a new value after each batch.
/// </summary>
/// <param name="Revision">The position of the last applied log entry.</param>
/// <param name="Namespaces">Namespaces by name.</param>
/// <param name="InstanceCount">Instances across all namespaces.</param>
public sealed record RegistryState(long Revision, ImmutableSortedDictionary<string, NamespaceState> Namespaces, int InstanceCount)
{
    public static RegistryState Empty { get; } =
        new(0, ImmutableSortedDictionary.Create<string, NamespaceState>(StringComparer.Ordinal), 0);

    public ServiceState? FindService(string @namespace, string service) =>
        Namespaces.TryGetValue(@namespace, out var ns) && ns.Services.TryGetValue(service, out var svc) ? svc : null;

    public InstanceRecord? FindInstance(in InstanceKey key) =>
        FindService(key.Namespace, key.Service) is { } svc && svc.Instances.TryGetValue(key.Id, out var instance)
            ? instance
            : null;
}
