using System.Collections.Concurrent;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Roster.Core.Model;
using Roster.Core.Serialization;
using Roster.Core.StateMachine;

namespace Roster.Client.Tests;

/// <summary>
/// A registry in a handler, for unit tests of discovery's own logic: it keeps services with sequences
/// and digests, writes events with the registry's own encoder (<see cref="RegistryJson"/>), and lets a
/// test do what a real node never does on purpose: lose an event, change without telling, forget
/// everything under a new identity, refuse connections.
/// </summary>
internal sealed class FakeRegistry : HttpMessageHandler
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ServiceState> _services = new(StringComparer.Ordinal);
    private readonly List<(long Revision, string Service, byte[] Frame)> _history = [];
    private readonly List<(HashSet<string> Services, PipeWriter Writer)> _streams = [];
    private long _revision;

    // Metadata with a non-ASCII value: the consumer's digest must hash the registry's exact bytes.
    private static readonly InstanceMetadata Metadata = InstanceMetadata.From([new("team", "paiements-é"), new("build", "42")]);

    public const string Namespace = "prod";

    public string RegistryId { get; private set; } = "registry-one";

    /// <summary>When set, every request fails as a refused connection.</summary>
    public volatile bool Refusing;

    /// <summary>The query of every watch request, in order (<c>since</c> shows how a stream resumed).</summary>
    public ConcurrentQueue<string> WatchQueries { get; } = new();

    public ConcurrentQueue<string> SnapshotRequests { get; } = new();

    /// <summary>A registry client whose one node is this fake (attempts of 1 s, calls of 2 s), on <paramref name="time"/>.</summary>
    public RosterClient CreateClient(TimeProvider time)
    {
        var options = new RosterClientOptions { AttemptTimeout = TimeSpan.FromSeconds(1), CallTimeout = TimeSpan.FromSeconds(2) };
        options.Servers.Add(new Uri("http://registry.test:7400/"));
        return new RosterClient(options, this, time);
    }

    /// <summary>Registers or updates an instance; <paramref name="deliver"/> false loses its event (a gap).</summary>
    public void Upsert(string service, string id, int port, bool deliver = true, int weight = 100)
    {
        lock (_gate)
        {
            var state = Service(service);
            var revision = ++_revision;
            var incarnation = state.Instances.TryGetValue(id, out var existing) ? existing.Incarnation : revision;
            var record = new InstanceRecord(
                id, new Registration("10.0.0.1", port, "http", "zone-a", "1.2.3", weight, Metadata, InstanceKind.Ephemeral, 10),
                OperatorState.None, incarnation, revision);
            var digest = state.Digest ^ (existing?.Hash ?? 0) ^ record.Hash;
            _services[service] = state with { Sequence = state.Sequence + 1, Digest = digest, Instances = state.Instances.SetItem(id, record) };
            Record(new ChangeEvent(revision, Namespace, service, state.Sequence + 1, digest, ChangeEventKind.Upsert, record, DeleteReason.Deregistered), deliver);
        }
    }

    public void Delete(string service, string id, bool deliver = true)
    {
        lock (_gate)
        {
            var state = Service(service);
            var record = state.Instances[id];
            var revision = ++_revision;
            var digest = state.Digest ^ record.Hash;
            _services[service] = state with { Sequence = state.Sequence + 1, Digest = digest, Instances = state.Instances.Remove(id) };
            Record(new ChangeEvent(revision, Namespace, service, state.Sequence + 1, digest, ChangeEventKind.Delete, record, DeleteReason.Deregistered), deliver);
        }
    }

    /// <summary>Loses everything and takes a new identity, as a registry rebuilt from nothing; open streams end.</summary>
    public void Rebuild(string registryId)
    {
        lock (_gate)
        {
            RegistryId = registryId;
            _services.Clear();
            _history.Clear();
            _revision = 0;
        }

        EndStreams();
    }

    /// <summary>Ends every open watch stream, as a node that closes its connections.</summary>
    public void EndStreams()
    {
        List<PipeWriter> writers;
        lock (_gate)
        {
            writers = [.. _streams.Select(s => s.Writer)];
            _streams.Clear();
        }

        foreach (var writer in writers)
        {
            writer.Complete();
        }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Refusing)
        {
            return Task.FromException<HttpResponseMessage>(new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)));
        }

        var path = request.RequestUri!.AbsolutePath;
        var prefix = $"/api/v1/namespaces/{Namespace}/";
        if (path == prefix + "watch")
        {
            return Task.FromResult(Watch(request.RequestUri.Query));
        }

        if (path == prefix + "services")
        {
            return Task.FromResult(Json(Listing()));
        }

        if (path.StartsWith(prefix + "services/", StringComparison.Ordinal))
        {
            var service = path[(prefix.Length + "services/".Length)..];
            SnapshotRequests.Enqueue(service);
            return Task.FromResult(Json(Snapshot(service)));
        }

        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
    }

    private HttpResponseMessage Watch(string query)
    {
        WatchQueries.Enqueue(query);
        var arguments = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToList();
        var services = arguments.Where(p => p[0] == "service").Select(p => p[1]).ToHashSet(StringComparer.Ordinal);
        var since = arguments.FirstOrDefault(p => p[0] == "since") is { } s ? long.Parse(s[1], System.Globalization.CultureInfo.InvariantCulture) : (long?)null;
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        lock (_gate)
        {
            if (since is { } revision && revision <= _revision)
            {
                foreach (var (_, _, frame) in _history.Where(h => h.Revision > revision && services.Contains(h.Service)))
                {
                    pipe.Writer.Write(frame);
                }
            }
            else
            {
                pipe.Writer.Write(ResetFrame(services));
            }

            Flush(pipe.Writer);
            _streams.Add((services, pipe.Writer));
        }

        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(pipe.Reader.AsStream()) };
        response.Content.Headers.ContentType = new("text/event-stream");
        response.Headers.Add("Roster-Registry-Id", RegistryId);
        return response;
    }

    private void Record(ChangeEvent change, bool deliver)
    {
        var frame = RegistryJson.ChangeFrame(change);
        _history.Add((change.Revision, change.Service, frame));
        if (!deliver)
        {
            return;
        }

        foreach (var (services, writer) in _streams.Where(s => s.Services.Contains(change.Service)))
        {
            writer.Write(frame);
            Flush(writer);
        }
    }

    private ServiceState Service(string name) => _services.TryGetValue(name, out var state) ? state : ServiceState.Create(name);

    private byte[] ResetFrame(HashSet<string> services)
    {
        var body = new MemoryStream();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteNumber("revision", _revision);
            writer.WriteString("registryId", RegistryId);
            writer.WriteString("namespace", Namespace);
            writer.WriteStartArray("services");
            foreach (var name in services.Order(StringComparer.Ordinal))
            {
                RegistryJson.WriteService(writer, Service(name));
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var id = _revision > 0 ? $"id: {_revision}\n" : "";
        return [.. Encoding.UTF8.GetBytes($"{id}event: reset\ndata: "), .. body.ToArray(), .. "\n\n"u8];
    }

    private string Snapshot(string name)
    {
        lock (_gate)
        {
            var state = Service(name);
            var body = new MemoryStream();
            using (var writer = new Utf8JsonWriter(body))
            {
                writer.WriteStartObject();
                writer.WriteString("registryId", RegistryId);
                writer.WriteNumber("revision", _revision);
                writer.WriteNumber("sequence", state.Sequence);
                writer.WriteString("digest", InstanceDigest.Format(state.Digest));
                writer.WriteStartArray("instances");
                foreach (var instance in state.Instances.Values)
                {
                    RegistryJson.WriteInstance(writer, instance);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(body.ToArray());
        }
    }

    private string Listing()
    {
        lock (_gate)
        {
            var services = _services.Values.Select(s => new { name = s.Name, instances = s.Instances.Count, sequence = s.Sequence, digest = InstanceDigest.Format(s.Digest) });
            return JsonSerializer.Serialize(new { revision = _revision, services });
        }
    }

    // The pipe never pauses its writer, so a flush completes at once.
    private static void Flush(PipeWriter writer) => _ = writer.FlushAsync().AsTask();

    private static HttpResponseMessage Json(string body)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) };
        response.Content.Headers.ContentType = new("application/json");
        return response;
    }
}
