using Microsoft.Extensions.Options;
using Roster.Cluster;
using Roster.Core.Node;

namespace Roster.Server.Hosting;

/// <summary>Where the node keeps its data, and the node's own settings.</summary>
public sealed class StorageOptions
{
    /// <summary>Data directory of the embedded log. Default <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Keep nothing on disk: every restart starts empty.</summary>
    public bool InMemory { get; set; }

    /// <summary>Start on a damaged data directory by keeping what is intact (<c>--accept-data-loss</c>); see
    /// <see cref="DataDirectoryOptions.AcceptDataLoss"/>. Default false: a damaged directory refuses to start.</summary>
    public bool AcceptDataLoss { get; set; }
}

/// <summary>Opens the storage and starts the <see cref="RegistryNode"/> before the server takes requests; stops it last.</summary>
internal sealed class RegistryNodeHost(
    IServiceProvider services,
    IOptions<StorageOptions> storage,
    IOptions<BusOptions> cluster,
    IOptions<RegistryNodeOptions> nodeOptions,
    TimeProvider time,
    ILogger<RegistryNode> logger) : IHostedService, IAsyncDisposable
{
    private RegistryNode? _node;
    private BusMembership? _membership;

    /// <summary>When this process's node was created (its uptime is counted from here).</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>How long this process's node has run.</summary>
    public TimeSpan Uptime => time.GetUtcNow() - StartedAt;

    public RegistryNode Node => _node ?? throw new InvalidOperationException("The registry node has not started.");

    /// <summary>The node, once it has started.</summary>
    public bool TryGetNode([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RegistryNode? node)
    {
        node = _node;
        return node is not null;
    }

    /// <summary>The cluster's change log when this node is part of a cluster; null for a single node.</summary>
    public RabbitStreamChangeLog? ClusterLog { get; private set; }

    /// <summary>The other nodes as heard over the bus; null for a single node.</summary>
    public BusMembership? Membership => _membership;

    /// <summary>
    /// <c>failed</c> (a loop stopped: restart it), <c>catching-up</c> (not yet applied what the log held when it
    /// started), <c>bus-unavailable</c> (a cluster node cut off from its bus: reads and watches from memory, writes
    /// 503) or <c>live</c>.
    /// </summary>
    public string Status
    {
        get
        {
            var node = Node;
            return node.Fault is not null ? "failed"
                : !node.IsReady ? "catching-up"
                : ClusterLog is { IsPublishing: false } or { IsReading: false } ? "bus-unavailable"
                : "live";
        }
    }

    /// <summary>What this node says about itself to the other nodes and in <c>/api/v1/cluster</c>.</summary>
    public NodeAnnouncement Describe()
    {
        var node = Node;
        return new NodeAnnouncement(node.NodeId, Address, Status, node.State.Revision, node.Leases.Count, node.Watches.SubscriberCount);
    }

    /// <summary>Where this node's API listens, as its server reports it (empty before it listens).</summary>
    public string Address =>
        services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>()?.Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? string.Empty;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (cluster.Value.Brokers.Count > 0)
        {
            await StartClusterNodeAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var nodeStorage = storage.Value.InMemory
            ? NodeStorage.InMemory()
            : await NodeStorage.OpenDirectoryAsync(
                storage.Value.DataDirectory,
                new DataDirectoryOptions { AcceptDataLoss = storage.Value.AcceptDataLoss, Logger = logger, Time = time },
                cancellationToken).ConfigureAwait(false);
        _node = await RegistryNode.StartAsync(nodeStorage, nodeOptions.Value, time, logger, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A node of a cluster: its log is the cluster's stream (the registry id comes from there), and it hears the
    /// other nodes over the same bus. It keeps only its node id on disk (unless in memory), so a restarted node
    /// is the same owner of its leases.
    /// </summary>
    private async Task StartClusterNodeAsync(CancellationToken cancellationToken)
    {
        var nodeId = storage.Value.InMemory ? RegistryIdentity.NewId() : LoadOrCreateNodeId(storage.Value.DataDirectory);
        ClusterLog = await RabbitStreamChangeLog.OpenAsync(cluster.Value, nodeId, logger, time, cancellationToken).ConfigureAwait(false);
        _membership = BusMembership.Start(cluster.Value, nodeId, logger, time);
        var latest = await LoadClusterCheckpointAsync(ClusterLog.RegistryId, cancellationToken).ConfigureAwait(false);
        var checkpoints = new StreamCheckpointStore(cluster.Value, ClusterLog.RegistryId, () => IsCheckpointWriter(nodeId), logger);
        var nodeStorage = NodeStorage.ForCluster(
            ClusterLog, new RegistryIdentity(ClusterLog.RegistryId, nodeId), _membership, checkpoints, latest, [.. ClusterLog.Loops, _membership.Health]);
        var node = await RegistryNode.StartAsync(nodeStorage, nodeOptions.Value, time, logger, cancellationToken).ConfigureAwait(false);
        _node = node;
        _membership.Describe = Describe;
    }

    /// <summary>The newest checkpoint on the cluster's checkpoint stream (null on a new cluster), waiting out bus trouble.</summary>
    private async Task<Checkpoint?> LoadClusterCheckpointAsync(string registryId, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.Zero;
        while (true)
        {
            try
            {
                return await StreamCheckpointStore.LoadLatestAsync(cluster.Value, registryId, logger, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when ((ex is Roster.Core.Log.LogUnavailableException || BusConnections.IsBusFailure(ex)) && !cancellationToken.IsCancellationRequested)
            {
                delay = BusConnections.NextDelay(cluster.Value, delay);
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One node writes the cluster's checkpoints: the live, ready node with the lowest id.</summary>
    private bool IsCheckpointWriter(string nodeId) =>
        _node is { IsReady: true } node
        && _membership is { } membership
        && membership.LiveNodes(node.Options.DefaultTtl).Min(StringComparer.Ordinal) == nodeId;

    private static string LoadOrCreateNodeId(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, "cluster-node-id");
        if (File.Exists(path) && File.ReadAllText(path).Trim() is var saved && RegistryIdentity.IsValidId(saved))
        {
            return saved;
        }

        var nodeId = RegistryIdentity.NewId();
        File.WriteAllText(path, nodeId);
        return nodeId;
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        if (_node is { } node)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        if (_membership is { } membership)
        {
            await membership.DisposeAsync().ConfigureAwait(false);
        }
    }
}
