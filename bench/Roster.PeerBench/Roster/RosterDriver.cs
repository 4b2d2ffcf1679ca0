using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Roster.PeerBench.Workloads;

namespace Roster.PeerBench.Roster;

/// <summary>
/// Roster through its HTTP/JSON API, as the SDK uses it: a provider registers each instance with a PUT
/// and renews all of its instances in one batch request every TTL/3; a watcher reads the namespace's
/// Server-Sent Events stream (a full list first, then changes) and resumes with <c>Last-Event-ID</c>.
/// In a cluster, a provider or watcher whose node fails carries on at the next node, as the SDK does.
/// </summary>
/// <param name="members">The nodes.</param>
/// <param name="expectedProviderInstances">How many provider instances a full list received on resumption must hold (W6).</param>
internal sealed class RosterDriver(IReadOnlyList<Uri> members, int expectedProviderInstances = 0) : RecordingDriver
{
    private RosterProvider? _writer;

    public override async Task<long> CountInstancesAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        for (var member = 0; ; member++)
        {
            try
            {
                using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri(members[member], $"/api/v1/namespaces/{Naming.Namespace}/services"), cancellationToken).ConfigureAwait(false));
                return document.RootElement.GetProperty("services").EnumerateArray().Sum(s => s.GetProperty("instances").GetInt64());
            }
            catch (HttpRequestException) when (member + 1 < members.Count)
            {
                // That node is down (W7): ask the next.
            }
        }
    }

    /// <summary>Leases each node owns, summed over the nodes that answer (W7: the killed node's leases owned again).</summary>
    public async Task<long> OwnedLeasesAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        long owned = 0;
        foreach (var member in members)
        {
            try
            {
                using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri(member, "/api/v1/status"), cancellationToken).ConfigureAwait(false));
                owned += document.RootElement.GetProperty("leases").GetInt64();
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
            }
        }

        return owned;
    }

    public override ProcessStartInfo HolderProcess(int instances, int ttlSeconds) =>
        Holder.StartInfo("roster", members[0], instances, ttlSeconds);

    protected override Task PrepareWriterAsync(CancellationToken cancellationToken)
    {
        _writer ??= new RosterProvider(members, -1, ttlSeconds: 120);
        return Task.CompletedTask;
    }

    protected override Task WriteChangeAsync(int key, bool delete, CancellationToken cancellationToken) =>
        delete
            ? _writer!.DeregisterAsync(Naming.Service(key % Naming.Services), Naming.ChangeInstance(key), cancellationToken)
            : _writer!.RegisterAsync(Naming.Service(key % Naming.Services), Naming.ChangeInstance(key), cancellationToken);

    protected override IProvider NewProvider(int index, int ttlSeconds, Func<int, string>? idOf) =>
        new RosterProvider(members, index, ttlSeconds, idOf);

    protected override void DisposeWriter() => _writer?.Dispose();

    protected override async Task WatchLoopAsync(int watcher, WatchRecorder recorder, TaskCompletionSource live, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var member = WatcherMember(watcher, members.Count);
        string? lastEventId = null;
        var resumed = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(members[member], $"/api/v1/namespaces/{Naming.Namespace}/watch"));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                if (lastEventId is not null)
                {
                    request.Headers.Add("Last-Event-ID", lastEventId);
                }

                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken).ConfigureAwait(false))
                {
                    var now = Stopwatch.GetTimestamp();
                    if (!string.IsNullOrEmpty(item.EventId))
                    {
                        lastEventId = item.EventId;
                    }

                    switch (item.EventType)
                    {
                        case "upsert":
                            recorder.OnUpsert(ChangedId(item.Data, "instance"), now);
                            break;
                        case "delete":
                            recorder.OnDelete(ChangedId(item.Data, null), now);
                            break;
                        case "reset":
                            if (resumed)
                            {
                                // A full list instead of the missed changes: provider instances absent from it are deletes.
                                recorder.OnMissingAfterResume(ProviderInstancesMissing(item.Data));
                            }

                            live.TrySetResult();
                            break;
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // The node failed (or restarts, W6): resume at the next one; revisions are the same on every node.
                member = (member + 1) % members.Count;
            }

            resumed = true;
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string ChangedId(string data, string? container)
    {
        using var document = JsonDocument.Parse(data);
        var element = container is null ? document.RootElement : document.RootElement.GetProperty(container);
        return element.GetProperty("id").GetString()!;
    }

    private int ProviderInstancesMissing(string data)
    {
        // Expected: every provider instance registered before the reset. Count those present.
        using var document = JsonDocument.Parse(data);
        var present = 0;
        foreach (var service in document.RootElement.GetProperty("services").EnumerateArray())
        {
            foreach (var instance in service.GetProperty("instances").EnumerateArray())
            {
                if (instance.GetProperty("id").GetString()!.StartsWith('p'))
                {
                    present++;
                }
            }
        }

        return Math.Max(0, expectedProviderInstances - present);
    }


    /// <summary>One provider process: its own connection, its instances and their incarnations.</summary>
    private sealed class RosterProvider : IProvider
    {
        private readonly IReadOnlyList<Uri> _members;
        private readonly HttpClient _client;
        private int _member;
        private readonly int _index;
        private readonly int _ttlSeconds;
        private readonly byte[] _body;
        private readonly List<(string Service, string Id, long Incarnation)> _instances = [];

        private readonly Func<int, string> _idOf;

        public RosterProvider(IReadOnlyList<Uri> members, int index, int ttlSeconds, Func<int, string>? idOf = null)
        {
            _idOf = idOf ?? (i => Naming.ProviderInstance(index, i));
            _members = members;
            _member = ProviderMember(index, members.Count);
            _client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                Timeout = TimeSpan.FromSeconds(30),
            };
            _index = index;
            _ttlSeconds = ttlSeconds;
            _body = Encoding.UTF8.GetBytes(Naming.RegistrationJson(ttlSeconds));
        }

        public async Task<double[]> RegisterAllAsync(int count, CancellationToken cancellationToken)
        {
            var latencies = new double[count];
            for (var i = 0; i < count; i++)
            {
                var (service, id) = (Naming.Service(Naming.ServiceOf(_index, i, count)), _idOf(i));
                var started = Stopwatch.GetTimestamp();
                var incarnation = await RegisterAsync(service, id, cancellationToken).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                _instances.Add((service, id, incarnation));
            }

            return latencies;
        }

        public async Task<long> RegisterAsync(string service, string id, CancellationToken cancellationToken)
        {
            using var content = new ByteArrayContent(_body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _client.PutAsync(InstanceUri(service, id), content, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            return document.RootElement.GetProperty("incarnation").GetInt64();
        }

        public async Task DeregisterAsync(string service, string id, CancellationToken cancellationToken)
        {
            using var response = await _client.DeleteAsync(InstanceUri(service, id), cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }

        public async Task KeepAliveAsync(Action onLost, CancellationToken cancellationToken)
        {
            var interval = TimeSpan.FromSeconds(_ttlSeconds / 3.0);
            var body = RenewBody();
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await _client.PostAsync(new Uri(_members[_member], "/api/v1/leases/renew"), content, cancellationToken).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        interval = TimeSpan.FromMilliseconds(200);
                        continue;
                    }

                    interval = TimeSpan.FromSeconds(_ttlSeconds / 3.0);
                    using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
                    var results = document.RootElement.GetProperty("results");
                    var lost = false;
                    var i = 0;
                    foreach (var result in results.EnumerateArray())
                    {
                        if (!result.ValueEquals("ok"u8))
                        {
                            // The registry dropped it: register again, as the SDK does.
                            onLost();
                            lost = true;
                            var (service, id, _) = _instances[i];
                            _instances[i] = (service, id, await RegisterAsync(service, id, cancellationToken).ConfigureAwait(false));
                        }

                        i++;
                    }

                    if (lost)
                    {
                        body = RenewBody();
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // The node is unreachable (W6 restarts it, W7 kills it): retry soon, at the next node of a cluster.
                    interval = TimeSpan.FromMilliseconds(200);
                    _member = (_member + 1) % _members.Count;
                }
            }
        }

        public void Dispose() => _client.Dispose();

        private Uri InstanceUri(string service, string id) =>
            new(_members[_member], $"/api/v1/namespaces/{Naming.Namespace}/services/{service}/instances/{id}");

        private byte[] RenewBody()
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteStartArray("leases");
                foreach (var (service, id, incarnation) in _instances)
                {
                    writer.WriteStartObject();
                    writer.WriteString("namespace", Naming.Namespace);
                    writer.WriteString("service", service);
                    writer.WriteString("id", id);
                    writer.WriteNumber("incarnation", incarnation);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            return stream.ToArray();
        }
    }
}
