using System.Diagnostics;

namespace Roster.PeerBench.Servers;

/// <summary>A single-member etcd (Debian's etcd-server, 3.4); ready when its <c>/health</c> says true.</summary>
internal sealed class EtcdServer(string dataDirectory, int? cpu) : PeerServer(dataDirectory, cpu)
{
    private readonly int _peerPort = FreePort();
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(1) };

    public override string Name => "etcd";

    protected override ProcessStartInfo StartInfo()
    {
        var peer = $"http://127.0.0.1:{_peerPort}";
        var start = new ProcessStartInfo("etcd");
        foreach (var arg in (string[])["--name", "bench", "--data-dir", DataDirectory,
            "--listen-client-urls", Address.ToString().TrimEnd('/'), "--advertise-client-urls", Address.ToString().TrimEnd('/'),
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"bench={peer}",
            "--logger", "zap", "--log-level", "warn"])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var health = await _probe.GetStringAsync(new Uri(Address, "/health"), cancellationToken).ConfigureAwait(false);
            return health.Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
