using Roster.Benchmarks;
using Roster.Testing;

namespace Roster.PeerBench.Servers;

/// <summary>
/// What one peer runs for a benchmark: a single server, or a cluster of <c>members</c> servers (an etcd
/// cluster, a ZooKeeper ensemble, Roster nodes with the three RabbitMQ brokers they replicate through).
/// Server CPU is summed over every process the peer needs, brokers included.
/// </summary>
internal sealed class PeerDeployment : IAsyncDisposable
{
    private readonly BrokerCluster? _brokers;
    private readonly bool[] _killed;

    private PeerDeployment(IReadOnlyList<PeerServer> members, BrokerCluster? brokers)
    {
        Members = members;
        _brokers = brokers;
        _killed = new bool[members.Count];
    }

    public IReadOnlyList<PeerServer> Members { get; }

    /// <summary>Every member's client address, in member order.</summary>
    public IReadOnlyList<Uri> Addresses => [.. Members.Select(m => m.Address)];

    public bool IsCluster => Members.Count > 1;

    /// <summary>The server processes' PIDs, brokers included (for the log).</summary>
    public string Pids => string.Join(", ", Members.Select(m => m.Pid).Concat(_brokers?.Pids ?? []));

    /// <summary>
    /// Starts <paramref name="members"/> servers of <paramref name="peer"/> under <paramref name="directory"/>,
    /// all at once (a member of a cluster answers only once a quorum is up); returns when every one is ready.
    /// </summary>
    public static async Task<(PeerDeployment Deployment, TimeSpan Ready)> StartAsync(
        string peer, int members, string directory, int? cpu, CancellationToken cancellationToken)
    {
        BrokerCluster? brokers = null;
        if (peer == "roster" && members > 1)
        {
            brokers = await BrokerCluster.StartAsync(members).ConfigureAwait(false);
        }

        var servers = NewMembers(peer, members, directory, cpu, brokers);
        var deployment = new PeerDeployment(servers, brokers);
        try
        {
            var ready = await Task.WhenAll(servers.Select(s => s.StartAsync(cancellationToken))).ConfigureAwait(false);
            return (deployment, ready.Max());
        }
        catch
        {
            await deployment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>User plus system CPU time of every live server process, brokers included.</summary>
    public TimeSpan CpuTime()
    {
        var total = TimeSpan.Zero;
        for (var i = 0; i < Members.Count; i++)
        {
            if (!_killed[i])
            {
                total += Members[i].CpuTime();
            }
        }

        foreach (var pid in _brokers?.Pids ?? [])
        {
            total += ProcessStats.CpuTime(pid);
        }

        return total;
    }

    /// <summary>
    /// The member a failover workload kills: the last one that is not its cluster's leader (etcd's Raft
    /// leader, ZooKeeper's leader), so that every peer loses a member that serves clients and no peer
    /// also loses its leader. Roster's nodes have no leader.
    /// </summary>
    public async Task<int> FollowerToKillAsync(CancellationToken cancellationToken)
    {
        for (var i = Members.Count - 1; i > 0; i--)
        {
            if (!await Members[i].IsLeaderAsync(cancellationToken).ConfigureAwait(false))
            {
                return i;
            }
        }

        return Members.Count - 1;
    }

    /// <summary>SIGKILL of one member, by PID.</summary>
    public void Kill(int member)
    {
        Members[member].Kill();
        _killed[member] = true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            member.Dispose();
        }

        if (_brokers is not null)
        {
            await _brokers.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static List<PeerServer> NewMembers(string peer, int members, string directory, int? cpu, BrokerCluster? brokers)
    {
        string DataOf(int i) => members == 1 ? Path.Combine(directory, "data") : Path.Combine(directory, $"member{i + 1}", "data");
        switch (peer)
        {
            case "roster":
                return [.. Enumerable.Range(0, members).Select(i => new RosterServer(DataOf(i), cpu, brokers?.Addresses))];
            case "etcd" when members > 1:
            {
                var peerPorts = Enumerable.Range(0, members).Select(_ => PeerServer.FreePort()).ToArray();
                var initialCluster = string.Join(',', peerPorts.Select((port, i) => $"member{i + 1}=http://127.0.0.1:{port}"));
                return [.. Enumerable.Range(0, members).Select(i => new EtcdServer(DataOf(i), cpu, $"member{i + 1}", peerPorts[i], initialCluster))];
            }

            case "etcd":
                return [new EtcdServer(DataOf(0), cpu)];
            case "zookeeper" when members > 1:
            {
                var ensemble = Enumerable.Range(0, members)
                    .Select(i => $"server.{i + 1}=127.0.0.1:{PeerServer.FreePort()}:{PeerServer.FreePort()}")
                    .ToArray();
                return [.. Enumerable.Range(0, members).Select(i => new ZooKeeperServer(DataOf(i), cpu, i + 1, ensemble))];
            }

            default:
                return [new ZooKeeperServer(DataOf(0), cpu)];
        }
    }
}
