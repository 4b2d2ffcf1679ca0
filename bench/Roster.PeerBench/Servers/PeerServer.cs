using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Roster.Benchmarks;

namespace Roster.PeerBench.Servers;

/// <summary>
/// One registry server process under test: started on 127.0.0.1 with a fresh data directory, pinned to
/// a CPU when asked, measured from outside through /proc the same way for every peer, and stopped by
/// its PID.
/// </summary>
internal abstract class PeerServer : IDisposable
{
    private Process? _process;

    protected PeerServer(string dataDirectory, int? cpu)
    {
        DataDirectory = dataDirectory;
        Cpu = cpu;
        Directory.CreateDirectory(dataDirectory);
        Port = FreePort();
    }

    public abstract string Name { get; }

    public string DataDirectory { get; }

    public int? Cpu { get; }

    /// <summary>The client port, the same across restarts.</summary>
    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public int Pid => _process?.Id ?? throw new InvalidOperationException($"{Name} is not running.");

    /// <summary>Starts the server and returns the time from exec until it answered a client.</summary>
    public async Task<TimeSpan> StartAsync(CancellationToken cancellationToken)
    {
        var start = StartInfo();
        if (Cpu is { } cpu)
        {
            // taskset execs the server, so the PID is the server's.
            start.ArgumentList.Insert(0, start.FileName);
            start.ArgumentList.Insert(0, cpu.ToString(CultureInfo.InvariantCulture));
            start.ArgumentList.Insert(0, "-c");
            start.FileName = "taskset";
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var clock = Stopwatch.StartNew();
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{Name} did not start.");
        var output = Path.Combine(DataDirectory, "..", $"{Name}-{_process.Id}.log");
        var log = new StreamWriter(output) { AutoFlush = true };
        _process.OutputDataReceived += (_, e) => Write(log, e.Data);
        _process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMinutes(2));
        while (!await IsReadyAsync(deadline.Token).ConfigureAwait(false))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}; its output is in {output}.");
            }

            await Task.Delay(5, deadline.Token).ConfigureAwait(false);
        }

        return clock.Elapsed;
    }

    /// <summary>SIGKILL, by PID, and wait for the process to be gone.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>User plus system CPU time from /proc/PID/stat.</summary>
    public TimeSpan CpuTime() => ProcessStats.CpuTime(Pid);

    /// <summary>Resident set size from /proc/PID/status, in bytes.</summary>
    public long ResidentBytes() => ProcessStats.ResidentBytes(Pid);

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
    }

    protected abstract ProcessStartInfo StartInfo();

    /// <summary>True once the server answers a client request (each peer's own health or read).</summary>
    protected abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>True when this member leads its cluster (etcd's Raft leader, ZooKeeper's leader).</summary>
    public virtual Task<bool> IsLeaderAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }
}
