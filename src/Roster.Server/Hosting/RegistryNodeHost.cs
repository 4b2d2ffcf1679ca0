using Microsoft.Extensions.Options;
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
    IOptions<StorageOptions> storage,
    IOptions<RegistryNodeOptions> nodeOptions,
    TimeProvider time,
    ILogger<RegistryNode> logger) : IHostedService, IAsyncDisposable
{
    private RegistryNode? _node;

    public RegistryNode Node => _node ?? throw new InvalidOperationException("The registry node has not started.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var nodeStorage = storage.Value.InMemory
            ? NodeStorage.InMemory()
            : await NodeStorage.OpenDirectoryAsync(
                storage.Value.DataDirectory,
                new DataDirectoryOptions { AcceptDataLoss = storage.Value.AcceptDataLoss, Logger = logger, Time = time },
                cancellationToken).ConfigureAwait(false);
        _node = await RegistryNode.StartAsync(nodeStorage, nodeOptions.Value, time, logger, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_node is { } node)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_node is { } node)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }
    }
}
