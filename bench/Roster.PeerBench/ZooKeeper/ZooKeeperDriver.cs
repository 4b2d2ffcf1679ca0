using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Roster.PeerBench.Servers;
using Roster.PeerBench.Workloads;

namespace Roster.PeerBench.ZooKeeper;

/// <summary>
/// ZooKeeper through its official Java client: each workload step is one command to <c>ZkAgent</c>
/// (ZkAgent.java, compiled with the machine's javac against Debian's jars), which runs the step with
/// the same shape as the .NET drivers and answers with one JSON line. In an ensemble every session gets
/// the whole server list: the client library picks a server at random and fails over by itself.
/// </summary>
internal sealed class ZooKeeperDriver : IPeerDriver
{
    private readonly string _connect;
    private readonly string _classPath;
    private readonly string _valueFile;
    private readonly Process _agent;
    private int _lost;

    public ZooKeeperDriver(IReadOnlyList<int> ports, string workDirectory)
    {
        _connect = string.Join(',', ports.Select(port => $"127.0.0.1:{port}"));
        var classes = Compile(workDirectory);
        _classPath = classes + ":" + ZooKeeperServer.ClassPath;
        _valueFile = Path.Combine(workDirectory, "instance-value.json");
        File.WriteAllBytes(_valueFile, Naming.InstanceValue());
        _agent = Process.Start(JavaStartInfo("serve", _connect, _valueFile)) ?? throw new InvalidOperationException("ZkAgent did not start.");
        var first = _agent.StandardOutput.ReadLine();
        if (first != "ready")
        {
            throw new InvalidOperationException($"ZkAgent: {first} {_agent.StandardError.ReadToEnd()}");
        }
    }

    public int LostRegistrations => Volatile.Read(ref _lost);

    /// <summary>A session is kept alive by the client library's own pings, with or without <paramref name="keepAlive"/>.</summary>
    public async Task<double[]> RegisterAsync(int providers, int instancesPerProvider, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken)
    {
        using var answer = await SendAsync($"register {providers} {instancesPerProvider} {ttlSeconds * 1000}", cancellationToken).ConfigureAwait(false);
        return [.. answer.RootElement.GetProperty("latenciesUs").EnumerateArray().Select(e => e.GetDouble())];
    }

    public async Task<long> CountInstancesAsync(CancellationToken cancellationToken)
    {
        using var answer = await SendAsync("count", cancellationToken).ConfigureAwait(false);
        return answer.RootElement.GetProperty("count").GetInt64();
    }

    public async Task OpenWatchersAsync(int watchers, CancellationToken cancellationToken)
    {
        using var answer = await SendAsync($"watch {watchers}", cancellationToken).ConfigureAwait(false);
    }

    public async Task<PropagationResult> RunChangesAsync(int changes, int perSecond, ChangeFault? fault, CancellationToken cancellationToken)
    {
        using var answer = await SendAsync($"changes {changes} {perSecond} {fault?.AfterChange ?? -1}", cancellationToken, fault?.Inject).ConfigureAwait(false);
        var root = answer.RootElement;
        var latencies = root.GetProperty("latenciesMs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var missed = root.GetProperty("missed").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var recovery = root.GetProperty("recoveryMs").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble()).ToArray();
        return new PropagationResult(latencies, missed, changes, root.GetProperty("longestWriteMs").GetDouble(), recovery);
    }

    public ProcessStartInfo HolderProcess(int instances, int ttlSeconds) =>
        JavaStartInfo("hold", _connect, _valueFile, instances.ToString(CultureInfo.InvariantCulture), (ttlSeconds * 1000).ToString(CultureInfo.InvariantCulture));

    public async Task MarkHolderKilledAsync(CancellationToken cancellationToken)
    {
        using var answer = await SendAsync("mark", cancellationToken).ConfigureAwait(false);
    }

    public async Task<double[]> WaitForHolderGoneAsync(int instances, TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var answer = await SendAsync($"waitholder {instances} {(long)deadline.TotalMilliseconds}", cancellationToken).ConfigureAwait(false);
        return [.. answer.RootElement.GetProperty("seconds").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble())];
    }

    public async Task<long> SpuriousDeletesAsync(CancellationToken cancellationToken)
    {
        using var answer = await SendAsync("spurious", cancellationToken).ConfigureAwait(false);
        return answer.RootElement.GetProperty("spurious").GetInt64();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var answer = await SendAsync("quit", CancellationToken.None).ConfigureAwait(false);
            await _agent.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException)
        {
        }
        finally
        {
            if (!_agent.HasExited)
            {
                _agent.Kill();
            }

            _agent.Dispose();
        }
    }

    /// <summary>Sends one command and reads its answer; <paramref name="inject"/> runs when the agent asks for the fault (W7).</summary>
    private async Task<JsonDocument> SendAsync(string command, CancellationToken cancellationToken, Action? inject = null)
    {
        await _agent.StandardInput.WriteLineAsync(command.AsMemory(), cancellationToken).ConfigureAwait(false);
        await _agent.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        var line = await _agent.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("ZkAgent ended.");
        if (line == """{"fault":true}""")
        {
            (inject ?? throw new InvalidOperationException("ZkAgent asked for a fault that was not planned."))();
            await _agent.StandardInput.WriteLineAsync("injected".AsMemory(), cancellationToken).ConfigureAwait(false);
            await _agent.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            line = await _agent.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("ZkAgent ended.");
        }

        var answer = JsonDocument.Parse(line);
        if (answer.RootElement.TryGetProperty("error", out var error))
        {
            var message = error.GetString();
            answer.Dispose();
            throw new InvalidOperationException($"ZkAgent {command}: {message}");
        }

        // "count" and "spurious" report how many instances providers had to register again (LostRegistrations).
        if (answer.RootElement.TryGetProperty("lost", out var lost))
        {
            Volatile.Write(ref _lost, lost.GetInt32());
        }

        return answer;
    }

    private ProcessStartInfo JavaStartInfo(params string[] args)
    {
        var start = new ProcessStartInfo("java")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
        };
        foreach (var arg in (string[])["-cp", _classPath, "ZkAgent", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private static string Compile(string workDirectory)
    {
        var classes = Path.Combine(workDirectory, "zkagent-classes");
        if (File.Exists(Path.Combine(classes, "ZkAgent.class")))
        {
            return classes;
        }

        var compile = new ProcessStartInfo("javac") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in (string[])["-d", classes, "-cp", ZooKeeperServer.ClassPath, Path.Combine(AppContext.BaseDirectory, "ZooKeeper", "ZkAgent.java")])
        {
            compile.ArgumentList.Add(arg);
        }

        using var javac = Process.Start(compile)!;
        var errors = javac.StandardError.ReadToEnd();
        javac.WaitForExit();
        return javac.ExitCode == 0 ? classes : throw new InvalidOperationException("javac failed: " + errors);
    }
}
