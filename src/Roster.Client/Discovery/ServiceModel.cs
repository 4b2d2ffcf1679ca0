using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text.Json;
using Roster.Client.Api;

namespace Roster.Client.Discovery;

/// <summary>
/// One watched service as the discovery loop builds it from snapshots and events: its instances, its
/// sequence, and the digest of the list, kept up to date in O(1) per change. Owned by the loop alone;
/// what readers see is the immutable <see cref="ServiceEndpoints"/> it publishes.
/// </summary>
internal sealed class ServiceModel
{
    private readonly Dictionary<string, (InstanceData Data, ulong Hash)> _instances = new(StringComparer.Ordinal);

    public ServiceModel(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>The registry's sequence of this service that the list reflects; -1 before the first snapshot.</summary>
    public long Sequence { get; private set; } = -1;

    /// <summary>The digest of the list as built here.</summary>
    public ulong Digest { get; private set; }

    /// <summary>The registry that the sequence belongs to.</summary>
    public string? RegistryId { get; private set; }

    public bool IsLoaded => Sequence >= 0;

    /// <summary>A snapshot has been asked for (a gap or a digest mismatch); events wait in <see cref="Held"/> until it comes.</summary>
    public bool ResyncPending { get; set; }

    /// <summary>A resync failed (the registry could not be reached): the next check or reconnection tries again.</summary>
    public bool NeedsRepair { get; set; }

    /// <summary>Events that arrived while a snapshot was being fetched, applied after it in sequence order.</summary>
    public List<ChangeData> Held { get; } = [];

    public int Count => _instances.Count;

    /// <summary>Replaces the whole list with a snapshot.</summary>
    public void Load(ServiceData snapshot, string registryId)
    {
        _instances.Clear();
        Digest = 0;
        foreach (var instance in snapshot.Instances)
        {
            Put(instance);
        }

        Sequence = snapshot.Sequence;
        RegistryId = registryId;
    }

    /// <summary>Applies one event that follows the current sequence directly.</summary>
    public void Apply(ChangeData change)
    {
        if (change.Instance is { } instance)
        {
            Put(instance);
        }
        else if (change.Id is { } id && _instances.Remove(id, out var removed))
        {
            Digest ^= removed.Hash;
        }

        Sequence = change.Sequence;
    }

    /// <summary>True when the list built here has the digest the registry stated.</summary>
    public bool Matches(string digest) => InstanceHash.TryParse(digest, out var stated) && stated == Digest;

    /// <summary>The list as readers get it.</summary>
    public ServiceEndpoints ToEndpoints(string @namespace, EndpointSource source, DateTimeOffset updatedAt)
    {
        var builder = ImmutableArray.CreateBuilder<InstanceEndpoint>(_instances.Count);
        foreach (var (data, _) in _instances.Values.OrderBy(i => i.Data.Id, StringComparer.Ordinal))
        {
            builder.Add(ToEndpoint(data));
        }

        return new ServiceEndpoints(@namespace, Name, Sequence, builder.MoveToImmutable(), source, updatedAt);
    }

    /// <summary>The list as the disk cache keeps it.</summary>
    public ServiceData ToData() =>
        new(Name, Sequence, InstanceHash.Format(Digest), [.. _instances.Values.Select(i => i.Data).OrderBy(i => i.Id, StringComparer.Ordinal)]);

    private void Put(InstanceData instance)
    {
        var hash = InstanceHash.Compute(instance);
        if (_instances.TryGetValue(instance.Id, out var previous))
        {
            Digest ^= previous.Hash;
        }

        _instances[instance.Id] = (instance, hash);
        Digest ^= hash;
    }

    private static InstanceEndpoint ToEndpoint(InstanceData data)
    {
        var metadata = ReadMetadata(data.Metadata);
        return new(data.Id, data.Address, data.Port)
        {
            Scheme = data.Scheme,
            Zone = data.Zone,
            Version = data.Version,
            Weight = data.EffectiveWeight,
            Drained = data.Drained || data.Disabled || ReportsNotServing(metadata),
            Incarnation = data.Incarnation,
            Metadata = metadata,
        };
    }

    /// <summary>
    /// Whether a provider registered through the registry's Consul or Eureka API says it is not serving: its Consul check
    /// fails (the registry keeps <c>consul-check: critical</c>), or its Eureka status is not <c>UP</c> (the registry keeps
    /// it in <c>eureka-status</c> only then). Such an instance gets no new requests, as a drained one.
    /// </summary>
    private static bool ReportsNotServing(IReadOnlyDictionary<string, string> metadata) =>
        metadata.Count > 0
        && ((metadata.TryGetValue("consul-check", out var check) && check == "critical")
            || (metadata.TryGetValue("eureka-status", out var status) && status != "UP"));

    private static FrozenDictionary<string, string> ReadMetadata(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object)
        {
            return FrozenDictionary<string, string>.Empty;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in metadata.EnumerateObject())
        {
            values[property.Name] = property.Value.GetString() ?? "";
        }

        return values.Count == 0 ? FrozenDictionary<string, string>.Empty : values.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
