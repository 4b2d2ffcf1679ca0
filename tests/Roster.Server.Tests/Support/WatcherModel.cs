using System.Text.Json;

namespace Roster.Server.Tests.Support;

/// <summary>
/// What a watcher believes the registry holds, built only from its stream, and a record of every
/// broken promise of the watch contract it noticed (order, uniqueness, gapless sequences).
/// </summary>
public sealed class WatcherModel
{
    private readonly Dictionary<string, Dictionary<string, (long Incarnation, long Revision)>> _view = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sequence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _digest = new(StringComparer.Ordinal);

    public WatcherModel(string name) => Name = name;

    public string Name { get; }

    public long LastRevision { get; private set; }

    public int EventsApplied { get; private set; }

    public List<string> Failures { get; } = [];

    /// <summary>Marks the revision the view was built up to, when it came from elsewhere (a recorded stream).</summary>
    public void ResumeFrom(long revision) => LastRevision = Math.Max(LastRevision, revision);

    public void Apply(string eventType, string data)
    {
        using var doc = JsonDocument.Parse(data);
        var root = doc.RootElement;
        switch (eventType)
        {
            case "reset":
                foreach (var service in root.GetProperty("services").EnumerateArray())
                {
                    var name = service.GetProperty("name").GetString()!;
                    _view[name] = service.GetProperty("instances").EnumerateArray().ToDictionary(
                        i => i.GetProperty("id").GetString()!,
                        i => (i.GetProperty("incarnation").GetInt64(), i.GetProperty("revision").GetInt64()),
                        StringComparer.Ordinal);
                    _sequence[name] = service.GetProperty("sequence").GetInt64();
                    _digest[name] = service.GetProperty("digest").GetString()!;
                }

                LastRevision = root.GetProperty("revision").GetInt64();
                break;
            case "upsert" or "delete":
                var revision = root.GetProperty("revision").GetInt64();
                var serviceName = root.GetProperty("service").GetString()!;
                var sequence = root.GetProperty("sequence").GetInt64();
                if (revision <= LastRevision)
                {
                    Failures.Add($"{Name}: revision {revision} after {LastRevision} (out of order or duplicate)");
                }

                var previous = _sequence.GetValueOrDefault(serviceName);
                if (sequence != previous + 1)
                {
                    Failures.Add($"{Name}: {serviceName} sequence {sequence} after {previous} at revision {revision}");
                }

                var instances = _view.TryGetValue(serviceName, out var existing) ? existing : _view[serviceName] = new(StringComparer.Ordinal);
                if (eventType == "upsert")
                {
                    var instance = root.GetProperty("instance");
                    instances[instance.GetProperty("id").GetString()!] = (instance.GetProperty("incarnation").GetInt64(), instance.GetProperty("revision").GetInt64());
                }
                else
                {
                    instances.Remove(root.GetProperty("id").GetString()!);
                }

                _sequence[serviceName] = sequence;
                _digest[serviceName] = root.GetProperty("digest").GetString()!;
                LastRevision = revision;
                EventsApplied++;
                break;
        }
    }

    /// <summary>Null when this watcher's view of <paramref name="service"/> equals the snapshot; otherwise what differs.</summary>
    public string? Differs(string service, JsonElement snapshot)
    {
        var expected = snapshot.GetProperty("instances").EnumerateArray()
            .Select(i => $"{i.GetProperty("id").GetString()}@{i.GetProperty("incarnation")}/{i.GetProperty("revision")}")
            .Order(StringComparer.Ordinal).ToList();
        var actual = (_view.GetValueOrDefault(service) ?? []).Select(p => $"{p.Key}@{p.Value.Incarnation}/{p.Value.Revision}")
            .Order(StringComparer.Ordinal).ToList();
        if (!expected.SequenceEqual(actual))
        {
            return $"{Name}: {service} has [{string.Join(' ', actual)}], registry has [{string.Join(' ', expected)}]";
        }

        var digest = snapshot.GetProperty("digest").GetString();
        var sequence = snapshot.GetProperty("sequence").GetInt64();
        return _digest.GetValueOrDefault(service, "0000000000000000") == digest && _sequence.GetValueOrDefault(service) == sequence
            ? null
            : $"{Name}: {service} digest/sequence {_digest.GetValueOrDefault(service)}/{_sequence.GetValueOrDefault(service)}, registry {digest}/{sequence}";
    }
}
