using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Roster.Storm.Tests;

/// <summary>
/// Asks a node's <c>/healthz</c> every 100 ms on a thread of its own (synchronous I/O, so the storm's work in this
/// process cannot delay the probe), and keeps the longest answer and every failure or answer slower than the bound.
/// </summary>
internal sealed class HealthProbe : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private readonly HttpClient _client;
    private readonly Uri _node;
    private readonly bool _freshConnections;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<string> _failures = [];
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private TimeSpan _longest;
    private int _answered;

    private HealthProbe(Uri node, TimeSpan bound, bool freshConnections)
    {
        Bound = bound;
        _node = node;
        _freshConnections = freshConnections;
        _client = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2) }) { BaseAddress = node, Timeout = TimeSpan.FromSeconds(2) };
        _thread = new Thread(Run) { IsBackground = true, Name = "healthz probe " + node };
    }

    /// <summary>The longest an answer may take.</summary>
    public TimeSpan Bound { get; }

    /// <summary>Probes the way an orchestrator does: a new connection each time, every call a blocking system call on
    /// this thread (nothing of it waits on this process's thread pool, which the fleet keeps busy).</summary>
    public static HealthProbe OnNewConnections(Uri node, TimeSpan bound) => Start(new HealthProbe(node, bound, freshConnections: true));

    /// <summary>Probes on one kept-alive connection, opened before the storm (a new one would wait in the API port's
    /// overflowing accept queue, behind the storm's connections).</summary>
    public static HealthProbe OnKeptConnection(Uri node, TimeSpan bound) => Start(new HealthProbe(node, bound, freshConnections: false));

    private static HealthProbe Start(HealthProbe probe)
    {
        if (probe._freshConnections ? probe.AskOnNewConnection() != 200 : probe.AskOnKeptConnection() != 200)
        {
            throw new InvalidOperationException($"{probe._node} is not healthy before the storm.");
        }

        probe._thread.Start();
        return probe;
    }

    private int AskOnKeptConnection()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        using var response = _client.Send(request, _stop.Token);
        return (int)response.StatusCode;
    }

    /// <summary>GET /healthz with Connection: close on a new blocking socket; returns the status code.</summary>
    private int AskOnNewConnection()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = 2000,
            SendTimeout = 2000,
        };
        socket.Connect(_node.Host, _node.Port);
        socket.Send(Encoding.ASCII.GetBytes($"GET /healthz HTTP/1.1\r\nHost: {_node.Authority}\r\nConnection: close\r\n\r\n"));
        var answer = new MemoryStream();
        var buffer = new byte[1024];
        int read;
        while ((read = socket.Receive(buffer)) > 0)
        {
            answer.Write(buffer, 0, read);
        }

        // "HTTP/1.1 200 OK\r\n..."
        var text = Encoding.ASCII.GetString(answer.ToArray());
        return text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 ? int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture) : 0;
    }

    public (int Answered, TimeSpan Longest, IReadOnlyList<string> Failures) Result()
    {
        lock (_gate)
        {
            return (_answered, _longest, [.. _failures]);
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
                var status = _freshConnections ? AskOnNewConnection() : AskOnKeptConnection();
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

            var took = Stopwatch.GetElapsedTime(started);
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

            _stop.Token.WaitHandle.WaitOne(Interval);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _client.Dispose();
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
