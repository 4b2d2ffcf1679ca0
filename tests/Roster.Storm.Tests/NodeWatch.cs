using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;

namespace Roster.Storm.Tests;

/// <summary>
/// Asks a node's <c>/healthz</c> every 100 ms and keeps the longest answer and every failure or answer slower than the
/// bound. On new connections, the probes come from a Node.js process of their own (<c>health-prober.js</c>), as an
/// orchestrator's do: the fleet's process, its busy thread pool and its garbage collections can neither delay a probe
/// nor its timing. On a kept-alive connection, from a thread of this process doing synchronous I/O.
/// </summary>
internal sealed class HealthProbe : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private readonly Uri _node;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<string> _failures = [];
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private HttpClient? _client;
    private Thread? _thread;
    private NodeScript? _prober;
    private Task? _reader;
    private TimeSpan _longest;
    private int _answered;

    private HealthProbe(Uri node, TimeSpan bound)
    {
        Bound = bound;
        _node = node;
    }

    /// <summary>The longest an answer may take.</summary>
    public TimeSpan Bound { get; }

    /// <summary>Probes the way an orchestrator does: a new connection each time, from another process.</summary>
    public static async Task<HealthProbe> OnNewConnectionsAsync(Uri node, TimeSpan bound)
    {
        var probe = new HealthProbe(node, bound);
        var prober = NodeScript.StartFile(
            Path.Combine(AppContext.BaseDirectory, "health-prober.js"), node.Host, node.Port.ToString(CultureInfo.InvariantCulture));
        probe._prober = prober;
        var first = await prober.NextAsync("probe", TimeSpan.FromSeconds(10));
        if (first.GetProperty("status").GetInt32() != 200)
        {
            await prober.DisposeAsync();
            throw new InvalidOperationException($"{node} is not healthy before the storm: {first}");
        }

        probe._reader = Task.Run(probe.ReadProbesAsync);
        return probe;
    }

    /// <summary>Probes on one kept-alive connection, opened before the storm (a new one would wait in the API port's
    /// overflowing accept queue, behind the storm's connections), every call blocking this probe's own thread.</summary>
    public static HealthProbe OnKeptConnection(Uri node, TimeSpan bound)
    {
        var probe = new HealthProbe(node, bound)
        {
            _client = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2) }) { BaseAddress = node, Timeout = TimeSpan.FromSeconds(2) },
        };
        if (probe.AskOnKeptConnection() != 200)
        {
            throw new InvalidOperationException($"{node} is not healthy before the storm.");
        }

        probe._thread = new Thread(probe.Run) { IsBackground = true, Name = "healthz probe " + node };
        probe._thread.Start();
        return probe;
    }

    public (int Answered, TimeSpan Longest, IReadOnlyList<string> Failures) Result()
    {
        lock (_gate)
        {
            return (_answered, _longest, [.. _failures]);
        }
    }

    private int AskOnKeptConnection()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        using var response = _client!.Send(request, _stop.Token);
        return (int)response.StatusCode;
    }

    private async Task ReadProbesAsync()
    {
        var lastLine = Stopwatch.GetTimestamp();
        while (!_stop.IsCancellationRequested)
        {
            JsonElement line;
            try
            {
                line = await _prober!.NextAsync("probe", TimeSpan.FromMilliseconds(500));
                lastLine = Stopwatch.GetTimestamp();
            }
            catch (TimeoutException e)
            {
                // A probe gives up after 2 s, so a line comes at least every 2.1 s while the prober runs.
                if (!_stop.IsCancellationRequested && Stopwatch.GetElapsedTime(lastLine) > TimeSpan.FromSeconds(5))
                {
                    Record(Stopwatch.GetElapsedTime(lastLine), "the prober said nothing for 5 s: " + e.Message);
                    lastLine = Stopwatch.GetTimestamp();
                }

                continue;
            }

            var took = TimeSpan.FromMilliseconds(line.GetProperty("ms").GetDouble());
            var status = line.GetProperty("status").GetInt32();
            Record(took, status == 200 ? null
                : line.TryGetProperty("failure", out var failure) ? $"{failure.GetString()} after {took.TotalMilliseconds:F0} ms"
                : $"{status} after {took.TotalMilliseconds:F0} ms");
        }
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            string? failure = null;
            try
            {
                var status = AskOnKeptConnection();
                if (status != 200)
                {
                    failure = $"{status} after {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms";
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException or IOException)
            {
                failure = $"{e.GetType().Name} after {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms: {e.Message}";
            }

            Record(Stopwatch.GetElapsedTime(started), failure);
            _stop.Token.WaitHandle.WaitOne(Interval);
        }
    }

    private void Record(TimeSpan took, string? failure)
    {
        lock (_gate)
        {
            _answered += failure is null ? 1 : 0;
            _longest = took > _longest ? took : _longest;
            if (failure is not null)
            {
                _failures.Add(failure);
            }
            else if (took > Bound)
            {
                _failures.Add($"answered after {took.TotalMilliseconds:F0} ms, {Stopwatch.GetElapsedTime(_startedAt).TotalSeconds:F1} s into the probe");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _thread?.Join();
        if (_prober is not null)
        {
            await _prober.DisposeAsync();
            await _reader!;
        }

        _client?.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// Samples, every 250 ms, the most connections the node's port held open at once (server side, from
/// <c>/proc/net/tcp</c>) and the node process's resident memory.
/// </summary>
internal sealed class NodeSampler : IDisposable
{
    private readonly Func<int[]> _ports;
    private readonly Func<IReadOnlyList<RosterProcess>> _processes;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private int _mostConnections;
    private long _mostResident;

    private NodeSampler(Func<int[]> ports, Func<IReadOnlyList<RosterProcess>> processes)
    {
        _ports = ports;
        _processes = processes;
        _thread = new Thread(Run) { IsBackground = true, Name = "node sampler" };
    }

    /// <summary>Samples the nodes <paramref name="processes"/> returns at each tick (a restarted node is a new process).</summary>
    public static NodeSampler Start(Func<IReadOnlyList<RosterProcess>> processes)
    {
        var sampler = new NodeSampler(() => [.. processes().Select(p => p.Address.Port)], processes);
        sampler._thread.Start();
        return sampler;
    }

    /// <summary>The most connections open at once to all the nodes' ports together.</summary>
    public int MostConnections => Volatile.Read(ref _mostConnections);

    /// <summary>The most resident memory one node process held.</summary>
    public long MostResidentBytes => Volatile.Read(ref _mostResident);

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            var connections = EstablishedTo(_ports());
            Volatile.Write(ref _mostConnections, Math.Max(_mostConnections, connections));
            foreach (var process in _processes())
            {
                try
                {
                    Volatile.Write(ref _mostResident, Math.Max(_mostResident, process.ResidentBytes()));
                }
                catch (IOException)
                {
                    // Killed between two samples.
                }
                catch (InvalidOperationException)
                {
                }
            }

            _stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>Established TCP connections whose local port is one of <paramref name="ports"/>: the server's end.</summary>
    public static int EstablishedTo(int[] ports)
    {
        var count = 0;
        foreach (var table in (string[])["/proc/net/tcp", "/proc/net/tcp6"])
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // "  sl  local_address rem_address   st ...": "0: 0100007F:1F90 0100007F:C350 01 ..."
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[3] == "01")
                {
                    var local = fields[1];
                    var port = int.Parse(local.AsSpan(local.LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (Array.IndexOf(ports, port) >= 0)
                    {
                        count++;
                    }
                }
            }
        }

        return count;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
