using Roster.Cluster;

namespace Roster.Testing;

/// <summary>
/// <c>roster serve --cluster</c> processes on a stream of their own on running brokers, each with its own data
/// directory: what every process-level cluster test starts from. Disposing stops every node by PID and removes
/// the directories.
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    private readonly List<string> _directories = [];
    private readonly string[] _settings;

    private ClusterProcesses(BusOptions bus, string[] settings)
    {
        Bus = bus;
        _settings = settings;
    }

    /// <summary>The stream, exchange and brokers the nodes share.</summary>
    public BusOptions Bus { get; }

    public List<RosterProcess> Nodes { get; } = [];

    /// <summary>Starts <paramref name="count"/> nodes on <paramref name="bus"/> (a stream no other cluster uses),
    /// each ready before the next starts; <paramref name="settings"/> (<c>--Roster:...</c>) go to every node.</summary>
    public static async Task<ClusterProcesses> StartAsync(BusOptions bus, int count = 3, params string[] settings)
    {
        ArgumentNullException.ThrowIfNull(bus);
        var cluster = new ClusterProcesses(bus, settings);
        for (var i = 0; i < count; i++)
        {
            cluster.Nodes.Add(await cluster.StartNodeAsync());
        }

        return cluster;
    }

    /// <summary>Starts one more node (on <paramref name="port"/>, or any free port) in a new data directory.</summary>
    public Task<RosterProcess> StartNodeAsync(int port = 0)
    {
        _directories.Add(Path.Combine(Path.GetTempPath(), "roster-cluster-node-" + Guid.NewGuid().ToString("N")[..8]));
        return StartNodeInAsync(_directories[^1], port);
    }

    /// <summary>Starts a node again in the data directory of node <paramref name="index"/> (it keeps its node id).</summary>
    public async Task RestartNodeAsync(int index)
    {
        await Nodes[index].DisposeAsync();
        Nodes[index] = await StartNodeInAsync(_directories[index], 0);
    }

    /// <summary>Starts node <paramref name="index"/> again, after it was killed, in its data directory (it keeps its node
    /// id) and on the port it had, so clients configured with its address find it again.</summary>
    public async Task StartAgainOnItsPortAsync(int index)
    {
        var port = Nodes[index].Address.Port;
        await Nodes[index].DisposeAsync();
        Nodes[index] = await StartNodeInAsync(_directories[index], port);
    }

    private Task<RosterProcess> StartNodeInAsync(string directory, int port) =>
        RosterProcess.StartOnPortAsync(
            port,
            directory,
            [
                "--cluster", string.Join(',', Bus.Brokers),
                $"--Roster:Cluster:StreamName={Bus.StreamName}",
                $"--Roster:Cluster:MembersExchange={Bus.MembersExchange}",
                .. _settings,
            ]);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
