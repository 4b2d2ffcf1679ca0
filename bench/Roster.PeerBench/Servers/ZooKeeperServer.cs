using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Roster.PeerBench.Servers;

/// <summary>
/// A ZooKeeper server (Debian's zookeeper, 3.8) with upstream zkEnv.sh's default heap limit of 1000 MB,
/// standalone or one server of an ensemble; ready when the <c>srvr</c> command reports a mode (standalone,
/// leader or follower), which it does only once it serves clients.
/// </summary>
/// <param name="dataDirectory">The server's own data directory.</param>
/// <param name="cpu">The CPU to pin the server to, or null.</param>
/// <param name="id">The server's <c>myid</c> in an ensemble.</param>
/// <param name="ensemble">The <c>server.N=host:quorumPort:electionPort</c> lines of every server; null for a standalone server.</param>
internal sealed class ZooKeeperServer(string dataDirectory, int? cpu, int id = 0, IReadOnlyList<string>? ensemble = null) : PeerServer(dataDirectory, cpu)
{
    public const string ClassPath = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar";

    public override string Name => "zookeeper";

    protected override ProcessStartInfo StartInfo()
    {
        var config = Path.Combine(DataDirectory, "zoo.cfg");
        File.WriteAllText(config, $"""
            tickTime=2000
            initLimit=10
            syncLimit=5
            dataDir={DataDirectory}
            clientPort={Port}
            clientPortAddress=127.0.0.1
            maxClientCnxns=0
            admin.enableServer=false
            4lw.commands.whitelist=srvr
            {string.Join('\n', ensemble ?? [])}
            """);
        if (ensemble is not null)
        {
            File.WriteAllText(Path.Combine(DataDirectory, "myid"), id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var start = new ProcessStartInfo("java");
        // An ensemble's servers run QuorumPeerMain; ZooKeeperServerMain would ignore the server list and stand alone.
        var main = ensemble is null ? "org.apache.zookeeper.server.ZooKeeperServerMain" : "org.apache.zookeeper.server.quorum.QuorumPeerMain";
        foreach (var arg in (string[])["-Xmx1000m", "-cp", ClassPath, main, config])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    public override async Task<bool> IsLeaderAsync(CancellationToken cancellationToken) =>
        (await SrvrAsync(cancellationToken).ConfigureAwait(false))?.Contains("Mode: leader", StringComparison.Ordinal) == true;

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        (await SrvrAsync(cancellationToken).ConfigureAwait(false))?.Contains("Mode:", StringComparison.Ordinal) == true;

    /// <summary>The answer to the <c>srvr</c> four-letter command, or null when the server does not answer.</summary>
    private async Task<string?> SrvrAsync(CancellationToken cancellationToken)
    {
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probe.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, probe.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("srvr"u8.ToArray(), probe.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(probe.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }
}
