using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.StateMachine;

namespace Roster.Server.Api.Eureka;

/// <summary>An encoded answer, kept as bytes, with its gzip encoding made the first time a client asks for it.</summary>
internal sealed class EncodedBody
{
    private readonly Lazy<byte[]> _body;
    private readonly Lazy<byte[]> _gzip;

    public EncodedBody(byte[] body)
    {
        _body = new(body);
        _gzip = new(() => GzipFragments.Gzip([new GzipFragments.Part(body)]));
    }

    /// <summary>A document made of parts compressed one by one (so a part that did not change is not compressed again).</summary>
    public EncodedBody(IReadOnlyList<GzipFragments.Part> parts)
    {
        _body = new(() => GzipFragments.Concatenate(parts));
        _gzip = new(() => GzipFragments.Gzip(parts));
    }

    public byte[] Body => _body.Value;

    public byte[] Gzip => _gzip.Value;
}

/// <summary>
/// The full registry and its delta as Eureka clients fetch them — every client, every 30 seconds by default — encoded
/// once per registry revision and answered from bytes until the registry changes (a renewal is no change: it never
/// enters the log). The view of a revision is built once, however many clients ask at once, and shared by both formats
/// and by the delta's hash code. The delta is the namespace's changes accepted within
/// <see cref="EurekaOptions.DeltaRetention"/>, read from the node's change history; it is rebuilt at most once a
/// second while nothing changes, as changes age out of it.
/// </summary>
internal sealed class EurekaResponseCache(IOptions<EurekaOptions> options, TimeProvider time)
{
    private static readonly TimeSpan DeltaReuse = TimeSpan.FromSeconds(1);
    private readonly string _namespace = options.Value.Namespace;
    private readonly TimeSpan _deltaRetention = options.Value.DeltaRetention;
    private readonly ConcurrentDictionary<EurekaFormat, DeltaBody> _deltas = new();
    private Snapshot? _snapshot;

    /// <summary>The applications of the namespace at <paramref name="state"/>'s revision, with their hash code.</summary>
    public (IReadOnlyList<EurekaApplication> Applications, string HashCode) View(RegistryState state) => SnapshotOf(state).View;

    /// <summary>The full registry (<c>GET /eureka/apps</c>).</summary>
    public EncodedBody Full(RegistryState state, EurekaFormat format) => SnapshotOf(state).Encoded(format);

    /// <summary>The delta (<c>GET /eureka/apps/delta</c>): what changed within the retention, with the full registry's hash code.</summary>
    public EncodedBody Delta(RegistryNode node, EurekaFormat format)
    {
        var now = time.GetUtcNow();
        if (_deltas.TryGetValue(format, out var cached) && cached.Revision == node.State.Revision && now - cached.BuiltAt < DeltaReuse)
        {
            return cached.Body;
        }

        var (changes, state) = node.Watches.ReadRecent(_namespace, (now - _deltaRetention).ToUnixTimeMilliseconds());
        var (_, hashCode) = SnapshotOf(state).View;
        var body = new EncodedBody(EurekaEncoding.Applications(format, DeltaOf(changes, state), hashCode, state.Revision));
        _deltas[format] = new DeltaBody(state.Revision, now, body);
        return body;
    }

    /// <summary>
    /// The last change of each instance in <paramref name="changes"/>: <c>DELETED</c> (as it was) when it was removed,
    /// else as it is now: <c>ADDED</c> when its last change registered it, <c>MODIFIED</c> when it was a drain, an
    /// undrain or new details (Eureka's delta also names each instance once, with its latest action).
    /// </summary>
    private static List<EurekaApplication> DeltaOf(List<ChangeEvent> changes, RegistryState state)
    {
        if (changes.Count == 0)
        {
            return [];
        }

        var last = new Dictionary<(string Service, string Id), ChangeEvent>();
        foreach (var change in changes)
        {
            last[(change.Service, change.Instance.Id)] = change;
        }

        return last.Values
            .Select(change => change.Kind == ChangeEventKind.Delete
                ? EurekaInstance.From(change.Service, change.Instance, "DELETED")
                : state.FindInstance(new InstanceKey(change.Namespace, change.Service, change.Instance.Id)) is { } now
                    ? EurekaInstance.From(change.Service, now, now.Revision == now.Incarnation ? "ADDED" : "MODIFIED")
                    : null)
            .OfType<EurekaInstance>()
            .GroupBy(instance => instance.App, StringComparer.Ordinal)
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .Select(group => new EurekaApplication(group.Key, [.. group]))
            .ToList();
    }

    private Snapshot SnapshotOf(RegistryState state)
    {
        while (true)
        {
            var current = Volatile.Read(ref _snapshot);
            if (current is not null && current.Revision >= state.Revision)
            {
                // A reader holding an older state than the cached one is answered from its own, uncached.
                return current.Revision == state.Revision ? current : new Snapshot(state, _namespace, null);
            }

            var fresh = new Snapshot(state, _namespace, current);
            if (Interlocked.CompareExchange(ref _snapshot, fresh, current) == current)
            {
                return fresh;
            }
        }
    }

    private sealed record DeltaBody(long Revision, DateTimeOffset BuiltAt, EncodedBody Body);

    /// <summary>
    /// One revision's view and encodings, each built once, when first asked for. Each application keeps its view and
    /// encodings from the revision before when its service did not change (the registry's state shares an
    /// unchanged service's object between revisions): a change re-encodes and recompresses one application, not all.
    /// </summary>
    private sealed class Snapshot
    {
        private readonly IReadOnlyList<ApplicationEntry> _entries;
        private readonly Lazy<(IReadOnlyList<EurekaApplication>, string)> _view;
        private readonly Lazy<EncodedBody> _json;
        private readonly Lazy<EncodedBody> _xml;

        public Snapshot(RegistryState state, string ns, Snapshot? previous)
        {
            Revision = state.Revision;
            var before = previous?._entries.ToDictionary(e => e.Service.Name, StringComparer.Ordinal);
            var entries = new List<ApplicationEntry>();
            if (state.Namespaces.TryGetValue(ns, out var nsState))
            {
                foreach (var service in nsState.Services.Values)
                {
                    if (service.Instances.Count > 0)
                    {
                        entries.Add(before is not null && before.TryGetValue(service.Name, out var kept) && ReferenceEquals(kept.Service, service)
                            ? kept
                            : new ApplicationEntry(service));
                    }
                }
            }

            _entries = entries;
            _view = new(() => (_entries.Select(e => e.View).ToList(), EurekaEncoding.HashCode(_entries.SelectMany(e => e.View.Instances))));
            _json = new(() => Encode(EurekaFormat.Json));
            _xml = new(() => Encode(EurekaFormat.Xml));
        }

        public long Revision { get; }

        public (IReadOnlyList<EurekaApplication> Applications, string HashCode) View => _view.Value;

        public EncodedBody Encoded(EurekaFormat format) => format == EurekaFormat.Json ? _json.Value : _xml.Value;

        private EncodedBody Encode(EurekaFormat format)
        {
            var (_, hashCode) = View;
            return new EncodedBody(EurekaEncoding.ApplicationsDocument(format, hashCode, Revision, [.. _entries.Select(e => e.Part(format))]));
        }
    }

    /// <summary>One application (a service with instances) as Eureka shows it, and its encodings, built when first asked for.</summary>
    private sealed class ApplicationEntry
    {
        private readonly Lazy<EurekaApplication> _view;
        private readonly Lazy<GzipFragments.Part> _json;
        private readonly Lazy<GzipFragments.Part> _xml;

        public ApplicationEntry(ServiceState service)
        {
            Service = service;
            _view = new(() => new EurekaApplication(
                service.Name.ToUpperInvariant(), [.. service.Instances.Values.Select(instance => EurekaInstance.From(service.Name, instance))]));
            _json = new(() => new GzipFragments.Part(EurekaEncoding.ApplicationPart(EurekaFormat.Json, View)));
            _xml = new(() => new GzipFragments.Part(EurekaEncoding.ApplicationPart(EurekaFormat.Xml, View)));
        }

        public ServiceState Service { get; }

        public EurekaApplication View => _view.Value;

        public GzipFragments.Part Part(EurekaFormat format) => format == EurekaFormat.Json ? _json.Value : _xml.Value;
    }
}
