using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Roster.Testing;

/// <summary>
/// Debian's etcd (etcd-server) as one member on 127.0.0.1, with a data directory of its own: stopped by its PID (SIGKILL,
/// as a crash) and started again on the same ports and data, so it comes back as the same cluster. The test's own
/// writes go through etcd's JSON gateway (<c>/v3/...</c>), not through the gRPC client under test.
/// </summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    private const string Binary = "/usr/bin/etcd";
    private readonly string _directory;
    private readonly int _peerPort;
    private readonly List<string> _output = [];
    private Process? _process;

    private readonly string _name;
    private readonly string _initialCluster;
    private readonly bool _tls;

    private EtcdProcess(string directory, int clientPort, int peerPort, string name = "test", string? initialCluster = null, bool tls = false)
    {
        _directory = directory;
        ClientPort = clientPort;
        _peerPort = peerPort;
        _name = name;
        _initialCluster = initialCluster ?? $"{name}=http://127.0.0.1:{peerPort}";
        _tls = tls;
        Address = new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{clientPort}");
        if (tls)
        {
            // Clients must show a certificate of the test CA, and trust the member's, issued by it.
            Ca = TestCertificates.NewCa("roster-test-etcd-ca");
            var server = TestCertificates.Issue(Ca, "etcd", serverAuth: true, alsoClientAuth: true);
            var client = TestCertificates.Issue(Ca, "etcd-client", serverAuth: false);
            using var withKey = System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.CopyWithPrivateKey(client.Certificate, client.Key);
            ClientCertificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
                withKey.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null); // a key TLS can use on Linux
            TestCertificates.Write(directory, "ca", Ca);
            TestCertificates.Write(directory, "server", server);
            var handler = new HttpClientHandler { ClientCertificates = { ClientCertificate } };
            var ca = Ca;
            handler.ServerCertificateCustomValidationCallback = (_, certificate, chain, _) =>
            {
                chain!.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                return certificate is not null && chain.Build(certificate);
            };
            Client = new HttpClient(handler) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        }
        else
        {
            Client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        }
    }

    /// <summary>With TLS: the CA that issued the member's certificate and the clients' (<see cref="ClientCertificate"/>).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Ca { get; }

    /// <summary>With TLS: a client certificate the member accepts, with its key.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; }

    public int ClientPort { get; }

    /// <summary>The member as an etcd:// target names it.</summary>
    public string Member => $"127.0.0.1:{ClientPort}";

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>One member; with <paramref name="tls"/>, serving clients over TLS only and asking each for a certificate of its CA.</summary>
    public static async Task<EtcdProcess> StartAsync(bool tls = false)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"etcd is not installed ({Binary}); ./eng/test.sh installs it (apt-get install etcd-server).");
        }

        var etcd = new EtcdProcess(Directory.CreateTempSubdirectory("roster-etcd-").FullName, LoopbackPorts.Free(), LoopbackPorts.Free(), tls: tls);
        await etcd.StartAgainAsync();
        return etcd;
    }

    /// <summary>Three (or <paramref name="members"/>) members of one cluster, each with its own ports and data; ready once the cluster has a leader.</summary>
    public static async Task<IReadOnlyList<EtcdProcess>> StartClusterAsync(int members = 3)
    {
        var ports = Enumerable.Range(0, members).Select(_ => (Client: LoopbackPorts.Free(), Peer: LoopbackPorts.Free())).ToArray();
        var cluster = string.Join(',', ports.Select((p, i) => $"member-{i}=http://127.0.0.1:{p.Peer}"));
        var processes = ports.Select((p, i) => new EtcdProcess(Directory.CreateTempSubdirectory("roster-etcd-").FullName, p.Client, p.Peer, $"member-{i}", cluster)).ToArray();
        foreach (var process in processes)
        {
            process.Launch(); // all at once: none is healthy before a majority runs
        }

        foreach (var process in processes)
        {
            await process.WaitHealthyAsync();
        }

        return processes;
    }

    /// <summary>Starts the member (again) on its ports and data directory and waits until it serves.</summary>
    public async Task StartAgainAsync()
    {
        Launch();
        await WaitHealthyAsync();
    }

    private void Launch()
    {
        var peer = $"http://127.0.0.1:{_peerPort}";
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["--name", _name, "--data-dir", Path.Combine(_directory, "data"),
            "--listen-client-urls", Address.ToString().TrimEnd('/'), "--advertise-client-urls", Address.ToString().TrimEnd('/'),
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", _initialCluster,
            "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn"])
        {
            start.ArgumentList.Add(arg);
        }

        if (_tls)
        {
            foreach (var arg in (string[])["--cert-file", Path.Combine(_directory, "server.pem"), "--key-file", Path.Combine(_directory, "server.key"),
                "--trusted-ca-file", Path.Combine(_directory, "ca.pem"), "--client-cert-auth"])
            {
                start.ArgumentList.Add(arg);
            }
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start etcd.");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private async Task WaitHealthyAsync()
    {
        try
        {
            await Eventually.TrueAsync(IsHealthyAsync, "etcd is healthy", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException("etcd did not become healthy; it printed:\n" + string.Join('\n', Output().TakeLast(30)));
        }
    }

    /// <summary>SIGKILL by PID: the member is gone at once, its connections reset.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Turns etcd's authentication on (with etcdctl): a root user, and <paramref name="reader"/> who may read the keys
    /// under <paramref name="prefix"/> and nothing else. This fixture's own calls authenticate as root from then on.
    /// </summary>
    public async Task EnableAuthenticationAsync(string reader, string readerPassword, string prefix)
    {
        const string rootPassword = "root-password";
        foreach (string[] command in (string[][])[
            ["user", "add", $"root:{rootPassword}"],
            ["role", "add", "root"],
            ["user", "grant-role", "root", "root"],
            ["user", "add", $"{reader}:{readerPassword}"],
            ["role", "add", "readers"],
            ["role", "grant-permission", "readers", "read", prefix, "--prefix=true"],
            ["user", "grant-role", reader, "readers"],
            ["auth", "enable"]])
        {
            await EtcdctlAsync(command);
        }

        using var answer = await CallAsync("/v3/auth/authenticate", new Dictionary<string, object> { ["name"] = "root", ["password"] = rootPassword });
        Client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", answer.RootElement.GetProperty("token").GetString());
    }

    private async Task EtcdctlAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add($"--endpoints={Address.ToString().TrimEnd('/')}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ETCDCTL_API"] = "3";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start etcdctl.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"etcdctl {string.Join(' ', arguments)}: {await output} {await errors}");
        }
    }

    /// <summary>Grants a lease of <paramref name="ttlSeconds"/> and returns its id.</summary>
    public async Task<long> GrantLeaseAsync(int ttlSeconds)
    {
        using var answer = await CallAsync("/v3/lease/grant", new Dictionary<string, object> { ["TTL"] = ttlSeconds });
        return long.Parse(answer.RootElement.GetProperty("ID").GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>Renews a lease once (what go-zero's keep-alive does every third of the TTL).</summary>
    public async Task KeepAliveAsync(long lease)
    {
        using var answer = await CallAsync("/v3/lease/keepalive", new Dictionary<string, object> { ["ID"] = lease.ToString(CultureInfo.InvariantCulture) });
    }

    public async Task RevokeLeaseAsync(long lease)
    {
        using var answer = await CallAsync("/v3/lease/revoke", new Dictionary<string, object> { ["ID"] = lease.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>Puts <paramref name="key"/> = <paramref name="value"/>, attached to <paramref name="lease"/> when one is given; returns the revision.</summary>
    public async Task<long> PutAsync(string key, string value, long lease = 0)
    {
        var body = new Dictionary<string, object> { ["key"] = Base64(key), ["value"] = Base64(value) };
        if (lease != 0)
        {
            body["lease"] = lease.ToString(CultureInfo.InvariantCulture);
        }

        using var answer = await CallAsync("/v3/kv/put", body);
        return Revision(answer);
    }

    public async Task<long> DeleteAsync(string key)
    {
        using var answer = await CallAsync("/v3/kv/deleterange", new Dictionary<string, object> { ["key"] = Base64(key) });
        return Revision(answer);
    }

    /// <summary>The store's current revision.</summary>
    public async Task<long> RevisionAsync()
    {
        using var answer = await CallAsync("/v3/kv/range", new Dictionary<string, object> { ["key"] = Base64("\0"), ["count_only"] = true });
        return Revision(answer);
    }

    /// <summary>Compacts the store up to <paramref name="revision"/>: watches from an older revision are refused from then on.</summary>
    public async Task CompactAsync(long revision)
    {
        using var answer = await CallAsync("/v3/kv/compaction", new Dictionary<string, object> { ["revision"] = revision.ToString(CultureInfo.InvariantCulture), ["physical"] = true });
    }

    public IReadOnlyList<string> Output()
    {
        lock (_output)
        {
            return [.. _output];
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await KillAsync();
        _process?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<JsonDocument> CallAsync(string path, Dictionary<string, object> body)
    {
        using var response = await Client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"etcd {path}: {(int)response.StatusCode} {text}");
        }

        // The keep-alive endpoint streams: its first message is wrapped in "result".
        var document = JsonDocument.Parse(text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0]);
        return document;
    }

    private static long Revision(JsonDocument answer)
    {
        var root = answer.RootElement.TryGetProperty("result", out var result) ? result : answer.RootElement;
        return long.Parse(root.GetProperty("header").GetProperty("revision").GetString()!, CultureInfo.InvariantCulture);
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private async Task<bool> IsHealthyAsync()
    {
        if (_process is { HasExited: true })
        {
            throw new InvalidOperationException("etcd exited; it printed:\n" + string.Join('\n', Output().TakeLast(30)));
        }

        try
        {
            return (await Client.GetStringAsync(new Uri("/health", UriKind.Relative))).Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
