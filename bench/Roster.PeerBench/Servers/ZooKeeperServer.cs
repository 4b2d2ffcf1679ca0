using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Roster.PeerBench.Servers;

/// <summary>
/// A standalone ZooKeeper (Debian's zookeeper, 3.8) with upstream zkEnv.sh's default heap limit of
/// 1000 MB; ready when the <c>srvr</c> command reports a mode, which it does only once it serves clients.
/// </summary>
internal sealed class ZooKeeperServer(string dataDirectory, int? cpu) : PeerServer(dataDirectory, cpu)
{
    public const string ClassPath = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar";

    public override string Name => "zookeeper";

    protected override ProcessStartInfo StartInfo()
    {
        var config = Path.Combine(DataDirectory, "zoo.cfg");
        File.WriteAllText(config, $"""
            tickTime=2000
            dataDir={DataDirectory}
            clientPort={Port}
            clientPortAddress=127.0.0.1
            maxClientCnxns=0
            admin.enableServer=false
            4lw.commands.whitelist=srvr
            """);
        var start = new ProcessStartInfo("java");
        foreach (var arg in (string[])["-Xmx1000m", "-cp", ClassPath, "org.apache.zookeeper.server.ZooKeeperServerMain", config])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
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
            var answer = await reader.ReadToEndAsync(probe.Token).ConfigureAwait(false);
            return answer.Contains("Mode:", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}
