using System.Collections.Immutable;

namespace Roster.Core.Model;

/// <summary>One namespace: its services by name, in ordinal order. Immutable.</summary>
public sealed record NamespaceState(string Name, ImmutableSortedDictionary<string, ServiceState> Services)
{
    public static NamespaceState Create(string name) =>
        new(name, ImmutableSortedDictionary.Create<string, ServiceState>(StringComparer.Ordinal));
}
