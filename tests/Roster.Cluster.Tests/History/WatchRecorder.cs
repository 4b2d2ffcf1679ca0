using System.Net.Http.Headers;
using System.Text.Json;

namespace Roster.Cluster.Tests.History;

/// <summary>
/// A watcher of one namespace that records every frame it receives and checks, as they arrive, what the watch
/// contract promises (etcd's robustness tests call them Ordered, Unique, Reliable, Resumable):
/// <list type="bullet">
/// <item>revisions strictly increase across every node it was connected to (ordered, unique);</item>
/// <item>each service's <c>sequence</c> grows by exactly one per event (no change missed: reliable);</item>
/// <item>resuming at another node with the last revision it saw continues the stream without a
/// <c>reset</c> (resumable);</item>
/// <item>the list it builds from the events ends equal to the registry's (same instances, same digest).</item>
/// </list>
/// It can be moved to another node mid-stream, and follows a node that ends or loses the stream by resuming at
/// the next one.
/// </summary>
internal sealed class WatchRecorder : IAsyncDisposable
{
    private readonly string _namespace;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServiceView> _services = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];
    private IReadOnlyList<Uri> _nodes;
    private int _nodeIndex;
    private CancellationTokenSource _connection = new();
    private Task _loop = Task.CompletedTask;
    private long _revision;
    private int _resets;
    private int _events;
    private int _connections;

    public WatchRecorder(IReadOnlyList<Uri> nodes, int firstNode, string @namespace, long since = 0)
    {
        _nodes = nodes;
        _nodeIndex = firstNode;
        _namespace = @namespace;
        _revision = since;
    }

    /// <summary>
    /// A watcher that stopped (its client went away, <see cref="DisposeAsync"/>) and comes back later at another
    /// node: it starts from what <paramref name="stopped"/> held and resumes from its last revision, so it must
    /// get every change since, without a reset.
    /// </summary>
    public static WatchRecorder ResumeLater(WatchRecorder stopped, int node)
    {
        ArgumentNullException.ThrowIfNull(stopped);
        var resumed = new WatchRecorder(stopped._nodes, node, stopped._namespace, stopped.Revision) { _resumedFromPast = true };
        lock (stopped._lock)
        {
            foreach (var (name, view) in stopped._services)
            {
                var copy = new ServiceView { Sequence = view.Sequence, Digest = view.Digest };
                foreach (var (id, instance) in view.Instances)
                {
                    copy.Instances[id] = instance;
                }

                resumed._services[name] = copy;
            }

            resumed._violations.AddRange(stopped._violations);
            resumed._eventsBefore = stopped._events;
        }

        return resumed;
    }

    private bool _resumedFromPast;
    private int _eventsBefore;

    public long Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    /// <summary>Events received (upserts and deletes), before a stop included.</summary>
    public int Events
    {
        get
        {
            lock (_lock)
            {
                return _eventsBefore + _events;
            }
        }
    }

    /// <summary>Resets received after the first frame of the first connection: each one is a resync the contract
    /// says a resume at another node of the same registry does not need.</summary>
    public int ResetsAfterStart
    {
        get
        {
            lock (_lock)
            {
                return Math.Max(0, _resets - (_firstWasReset && !_resumedFromPast ? 1 : 0));
            }
        }
    }

    private bool _firstWasReset;

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_lock)
            {
                return [.. _violations];
            }
        }
    }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Ends the current stream and resumes, from the last revision seen, at node <paramref name="index"/>.</summary>
    public void MoveTo(int index)
    {
        lock (_lock)
        {
            _nodeIndex = index;
        }

        _connection.Cancel();
    }

    /// <summary>Replaces the node addresses (a restarted node listens on a new port).</summary>
    public void UpdateNodes(IReadOnlyList<Uri> nodes)
    {
        lock (_lock)
        {
            _nodes = nodes;
        }
    }

    /// <summary>What the watcher holds for <paramref name="service"/>: id → (port, incarnation, drained), and the digest of the last event.</summary>
    public (SortedDictionary<string, string> Instances, string Digest) ViewOf(string service)
    {
        lock (_lock)
        {
            return _services.TryGetValue(service, out var view)
                ? (new SortedDictionary<string, string>(view.Instances, StringComparer.Ordinal), view.Digest)
                : (new SortedDictionary<string, string>(StringComparer.Ordinal), "0000000000000000");
        }
    }

    public IReadOnlyCollection<string> Services
    {
        get
        {
            lock (_lock)
            {
                return [.. _services.Keys];
            }
        }
    }

    private async Task RunAsync()
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        while (!_stop.IsCancellationRequested)
        {
            Uri node;
            lock (_lock)
            {
                node = _nodes[_nodeIndex % _nodes.Count];
                _connection.Dispose();
                _connection = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            }

            var token = _connection.Token;
            try
            {
                var since = Revision;
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, $"/api/v1/namespaces/{_namespace}/watch" + (since > 0 ? $"?since={since}" : string.Empty)));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
                if (!response.IsSuccessStatusCode)
                {
                    // Not ready, or gone: try the next node.
                    await NextNodeAsync(token);
                    continue;
                }

                _connections++;
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(token));
                await ReadFramesAsync(reader, token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                if (!token.IsCancellationRequested)
                {
                    await NextNodeAsync(_stop.Token).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task NextNodeAsync(CancellationToken token)
    {
        lock (_lock)
        {
            _nodeIndex++;
        }

        try
        {
            await Task.Delay(50, token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReadFramesAsync(StreamReader reader, CancellationToken token)
    {
        string? name = null;
        var data = new System.Text.StringBuilder();
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null)
                {
                    OnFrame(name, JsonDocument.Parse(data.ToString()).RootElement);
                }

                name = null;
                data.Clear();
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line.AsSpan(6));
            }
        }
    }

    private void OnFrame(string name, JsonElement data)
    {
        lock (_lock)
        {
            switch (name)
            {
                case "reset":
                    if (_resets == 0 && _events == 0)
                    {
                        _firstWasReset = true;
                    }

                    _resets++;
                    var revision = data.GetProperty("revision").GetInt64();
                    if (revision < _revision)
                    {
                        _violations.Add($"reset at revision {revision} after revision {_revision}");
                    }

                    _revision = revision;
                    _services.Clear();
                    foreach (var service in data.GetProperty("services").EnumerateArray())
                    {
                        var view = new ServiceView { Sequence = service.GetProperty("sequence").GetInt64(), Digest = service.GetProperty("digest").GetString()! };
                        foreach (var instance in service.GetProperty("instances").EnumerateArray())
                        {
                            view.Instances[instance.GetProperty("id").GetString()!] = Describe(instance);
                        }

                        _services[service.GetProperty("name").GetString()!] = view;
                    }

                    break;
                case "upsert" or "delete":
                    _events++;
                    var at = data.GetProperty("revision").GetInt64();
                    if (at <= _revision)
                    {
                        _violations.Add($"{name} at revision {at} after revision {_revision} (not ordered, or a duplicate)");
                    }

                    _revision = Math.Max(_revision, at);
                    var name2 = data.GetProperty("service").GetString()!;
                    if (!_services.TryGetValue(name2, out var target))
                    {
                        target = new ServiceView();
                        _services[name2] = target;
                    }

                    var sequence = data.GetProperty("sequence").GetInt64();
                    if (sequence != target.Sequence + 1)
                    {
                        _violations.Add($"{name2}: sequence {sequence} after {target.Sequence} at revision {at} (a change missed or repeated)");
                    }

                    target.Sequence = sequence;
                    target.Digest = data.GetProperty("digest").GetString()!;
                    if (name == "delete")
                    {
                        target.Instances.Remove(data.GetProperty("id").GetString()!);
                    }
                    else
                    {
                        var instance = data.GetProperty("instance");
                        target.Instances[instance.GetProperty("id").GetString()!] = Describe(instance);
                    }

                    break;
            }
        }
    }

    /// <summary>What a test compares of an instance.</summary>
    public static string Describe(JsonElement instance) =>
        $"{instance.GetProperty("port").GetInt32()} #{instance.GetProperty("incarnation").GetInt64()} drained={instance.GetProperty("drained").GetBoolean()}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _connection.Dispose();
    }

    private sealed class ServiceView
    {
        public Dictionary<string, string> Instances { get; } = new(StringComparer.Ordinal);

        public long Sequence { get; set; }

        public string Digest { get; set; } = "0000000000000000";
    }
}
