using System.Diagnostics;

namespace Roster.PeerBench.Servers;

/// <summary>
/// An etcd member (Debian's etcd-server, 3.4): alone, or one of the members named in
/// <paramref name="initialCluster"/>; ready when its <c>/health</c> says true, which a member of a
/// cluster does only once the cluster has a leader.
/// </summary>
/// <param name="dataDirectory">The server's own data directory.</param>
/// <param name="cpu">The CPU to pin the server to, or null.</param>
/// <param name="name">The member's name in the cluster.</param>
/// <param name="peerPort">The port the member's peers reach it on.</param>
/// <param name="initialCluster">Every member as <c>name=http://127.0.0.1:port</c>; null for a single member.</param>
internal sealed class EtcdServer(string dataDirectory, int? cpu, string name = "bench", int? peerPort = null, string? initialCluster = null)
    : PeerServer(dataDirectory, cpu)
{
    private readonly int _peerPort = peerPort ?? FreePort();
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(1) };

    public override string Name => "etcd";

    protected override ProcessStartInfo StartInfo()
    {
        var peer = $"http://127.0.0.1:{_peerPort}";
        var start = new ProcessStartInfo("etcd");
        foreach (var arg in (string[])["--name", name, "--data-dir", DataDirectory,
            "--listen-client-urls", Address.ToString().TrimEnd('/'), "--advertise-client-urls", Address.ToString().TrimEnd('/'),
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", initialCluster ?? $"{name}={peer}",
            "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn"])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>Asks the member's status through etcd's HTTP gateway: it leads when the leader's id is its own.</summary>
    public override async Task<bool> IsLeaderAsync(CancellationToken cancellationToken)
    {
        using var content = new StringContent("{}");
        using var response = await _probe.PostAsync(new Uri(Address, "/v3/maintenance/status"), content, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var status = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var self = status.RootElement.GetProperty("header").GetProperty("member_id").GetString();
        return self is not null && self == status.RootElement.GetProperty("leader").GetString();
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
