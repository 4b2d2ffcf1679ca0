using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Roster.Testing;

/// <summary>
/// A three-broker RabbitMQ cluster as plain processes on 127.0.0.1 (Debian's <c>rabbitmq-server</c>), for the
/// cluster tests: its own directory, Erlang cookie (<c>HOME</c>) and epmd, free ports, and the brokers joined
/// at first boot by classic peer discovery. Brokers are stopped by the PIDs in their pid files, never by name.
/// <para>
/// With <c>ROSTER_TEST_BROKERS</c> set (comma-separated <c>amqp://</c> addresses), tests use those brokers
/// instead and start nothing; tests that kill a broker then need this fixture's own cluster.
/// </para>
/// </summary>
public sealed class BrokerCluster : IAsyncDisposable
{
    private const string RabbitBin = "/usr/lib/rabbitmq/bin";
    private readonly string _directory;
    private readonly Process? _epmd;
    private readonly int _epmdPort;
    private readonly Broker[] _brokers;

    private BrokerCluster(string directory, Process? epmd, int epmdPort, Broker[] brokers)
    {
        _directory = directory;
        _epmd = epmd;
        _epmdPort = epmdPort;
        _brokers = brokers;
    }

    /// <summary>The brokers' AMQP addresses, in node order.</summary>
    public IReadOnlyList<Uri> Addresses => _brokers.Select(b => b.Address).ToList();

    /// <summary>The brokers' TLS listeners (<c>amqps://</c>), whose certificate <see cref="CaFile"/> issued; empty for
    /// brokers this fixture did not start.</summary>
    public IReadOnlyList<Uri> TlsAddresses => _brokers.Where(b => b.TlsAddress is not null).Select(b => b.TlsAddress!).ToList();

    /// <summary>The PEM CA certificate that issued the brokers' TLS certificates (and can issue client ones).</summary>
    public string? CaFile { get; private init; }

    /// <summary>That CA, with its key, to issue client certificates in a test.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Ca { get; private init; }

    /// <summary>The names of the TLS client certificates of the connections broker <paramref name="index"/> has now
    /// (<c>rabbitmqctl list_connections peer_cert_subject</c>; empty lines for connections without one).</summary>
    public async Task<IReadOnlyList<string>> ConnectionCertificatesAsync(int index) =>
        (await CtlAsync(_brokers[index], "list_connections", "--silent", "peer_cert_subject")).Split('\n', StringSplitOptions.TrimEntries).ToList();

    /// <summary>The PIDs of the brokers running now (for their CPU time).</summary>
    public IReadOnlyList<int> Pids => _brokers.Where(b => b.Pid is not null).Select(b => b.Pid!.Value).ToList();

    /// <summary>Whether this fixture started the brokers (and so may kill and restart them).</summary>
    public bool OwnsBrokers => _epmd is not null;

    public static bool IsInstalled => File.Exists(Path.Combine(RabbitBin, "rabbitmq-server"));

    public static async Task<BrokerCluster> StartAsync(int size = 3)
    {
        if (Environment.GetEnvironmentVariable("ROSTER_TEST_BROKERS") is { Length: > 0 } given)
        {
            var external = given.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select((address, i) => new Broker($"external{i}", new Uri(address), 0, string.Empty))
                .ToArray();
            return new BrokerCluster(string.Empty, null, 0, external);
        }

        if (!OperatingSystem.IsLinux() || !IsInstalled)
        {
            throw new InvalidOperationException($"RabbitMQ is not installed ({RabbitBin}); ./eng/test.sh installs it (apt-get install rabbitmq-server).");
        }

        var directory = Path.Combine(Path.GetTempPath(), "roster-brokers-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var cookie = Path.Combine(directory, ".erlang.cookie");
        await File.WriteAllTextAsync(cookie, "ROSTER" + Guid.NewGuid().ToString("N").ToUpperInvariant());
        File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
        await File.WriteAllTextAsync(Path.Combine(directory, "enabled_plugins"), "[].");

        var ports = FreePorts(1 + (3 * size));
        var epmdPort = ports[0];
        var brokers = Enumerable.Range(0, size)
            .Select(i => new Broker(
                $"roster{i + 1}@localhost",
                new Uri($"amqp://guest:guest@127.0.0.1:{ports[1 + i]}"),
                ports[1 + size + i],
                Path.Combine(directory, $"broker{i + 1}"),
                new Uri($"amqps://guest:guest@127.0.0.1:{ports[1 + (2 * size) + i]}")))
            .ToArray();

        // Every broker also listens for TLS, with a certificate from a CA made here; it asks clients for a certificate
        // (verify_peer) and takes them without one.
        var ca = TestCertificates.NewCa("Roster test brokers CA");
        var caFile = TestCertificates.Write(directory, "ca", ca);
        var (certificateFile, keyFile) = TestCertificates.Write(directory, "broker", TestCertificates.Issue(ca, "127.0.0.1", serverAuth: true));
        foreach (var broker in brokers)
        {
            Directory.CreateDirectory(broker.Directory);
            await File.WriteAllLinesAsync(
                Path.Combine(broker.Directory, "rabbitmq.conf"),
                [
                    "cluster_formation.peer_discovery_backend = classic_config",
                    .. brokers.Select((b, i) => $"cluster_formation.classic_config.nodes.{i + 1} = {b.Name}"),
                    "log.console = false",
                    "log.file.level = warning",
                    $"listeners.ssl.default = 127.0.0.1:{broker.TlsAddress!.Port}",
                    $"ssl_options.cacertfile = {caFile}",
                    $"ssl_options.certfile = {certificateFile}",
                    $"ssl_options.keyfile = {keyFile}",
                    "ssl_options.verify = verify_peer",
                    "ssl_options.fail_if_no_peer_cert = false",
                ]);
        }

        var epmd = Start("epmd", ["-address", "127.0.0.1", "-port", epmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture)], directory, epmdPort, null);
        var cluster = new BrokerCluster(directory, epmd, epmdPort, brokers) { CaFile = caFile, Ca = ca };
        try
        {
            await Task.WhenAll(brokers.Select(cluster.StartBrokerAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILLs broker <paramref name="index"/> (by the PID in its pid file).</summary>
    public void Kill(int index)
    {
        var broker = _brokers[index];
        if (broker.Pid is { } pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit(10_000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }

            broker.Pid = null;
        }
    }

    /// <summary>SIGKILLs every broker: the bus is gone.</summary>
    public void KillAll()
    {
        for (var i = 0; i < _brokers.Length; i++)
        {
            Kill(i);
        }
    }

    /// <summary>Starts broker <paramref name="index"/> again (after <see cref="Kill"/>) and waits until it runs.</summary>
    public Task RestartAsync(int index) => StartBrokerAsync(_brokers[index]);

    /// <summary>Starts every broker that was killed, and waits until they run.</summary>
    public Task RestartKilledAsync() =>
        OwnsBrokers ? Task.WhenAll(_brokers.Where(b => b.Pid is null).Select(StartBrokerAsync)) : Task.CompletedTask;

    /// <summary>The index of the broker that leads the stream queue <paramref name="queue"/>, from <c>rabbitmqctl</c>.</summary>
    public async Task<int> LeaderOfAsync(string queue)
    {
        var alive = _brokers.First(b => b.Pid is not null);
        var output = await CtlAsync(alive, "list_queues", "-q", "--no-table-headers", "name", "leader");
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t', StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0] == queue)
            {
                return Array.FindIndex(_brokers, b => b.Name == parts[1]);
            }
        }

        throw new InvalidOperationException($"No queue {queue}: {output}");
    }

    private async Task StartBrokerAsync(Broker broker)
    {
        Directory.CreateDirectory(broker.Directory);
        var pidFile = Path.Combine(broker.Directory, "pid");
        File.Delete(pidFile);
        var environment = new Dictionary<string, string>
        {
            ["RABBITMQ_NODENAME"] = broker.Name,
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = broker.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RABBITMQ_DIST_PORT"] = broker.DistPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(broker.Directory, "rabbitmq.conf"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_directory, "enabled_plugins"),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(broker.Directory, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(broker.Directory, "log"),
            ["RABBITMQ_PID_FILE"] = pidFile,
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
        };
        // Through a shell only to send the broker's console to a file (a pipe nobody reads would fill and stall it).
        var console = Path.Combine(broker.Directory, "console.log");
        using (Start("/bin/sh", ["-c", $"exec '{Path.Combine(RabbitBin, "rabbitmq-server")}' >> '{console}' 2>&1"], _directory, _epmdPort, environment))
        {
            // The script's process handle is not needed: the broker is found again by its pid file.
        }

        await CtlAsync(broker, "wait", pidFile, "--timeout", "90");
        broker.Pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<string> CtlAsync(Broker broker, params string[] args)
    {
        using var ctl = Start(Path.Combine(RabbitBin, "rabbitmqctl"), ["-n", broker.Name, .. args], _directory, _epmdPort, null, redirect: true);
        var output = ctl.StandardOutput.ReadToEndAsync();
        var error = ctl.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await ctl.WaitForExitAsync(timeout.Token);
        if (ctl.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)} failed ({ctl.ExitCode}): {await output}{await error}");
        }

        return await output;
    }

    private static Process Start(string file, string[] args, string home, int epmdPort, Dictionary<string, string>? environment, bool redirect = false)
    {
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
            RedirectStandardInput = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["HOME"] = home;
        start.Environment["ERL_EPMD_PORT"] = epmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_epmd is null)
        {
            return;
        }

        for (var i = 0; i < _brokers.Length; i++)
        {
            Kill(i);
        }

        if (!_epmd.HasExited)
        {
            _epmd.Kill();
            await _epmd.WaitForExitAsync();
        }

        _epmd.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A broker's child may still hold a file for a moment; the directory is under /tmp.
        }
    }

    private sealed class Broker(string name, Uri address, int distPort, string directory, Uri? tlsAddress = null)
    {
        public Uri? TlsAddress { get; } = tlsAddress;

        public string Name { get; } = name;

        public Uri Address { get; } = address;

        public int DistPort { get; } = distPort;

        public string Directory { get; } = directory;

        public int? Pid { get; set; }
    }
}
