using System.Buffers;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Roster.Core.Node;
using Roster.Core.Serialization;

namespace Roster.Cluster;

/// <summary>
/// Checkpoints where every node can read them, even after the node that wrote one is gone: a second stream
/// queue next to the log (<c>{StreamName}.checkpoints</c>), each message one whole checkpoint (the registry and
/// the watch history at one revision, in the embedded store's format) with the registry id in a header.
/// <para>
/// Why a stream and not a peer: a node that joins after retention dropped log entries must find the registry
/// as of a point the stream still continues from, and the stream is the one thing every node reaches; a peer
/// may be gone, or be the only node and the one restarting. Retention of its own keeps the newest few.
/// </para>
/// <para>
/// One node writes them (the live node with the lowest id, so the cluster does not write the same registry
/// three times); every node loads the newest at start and reads the log only after it.
/// </para>
/// </summary>
public sealed partial class StreamCheckpointStore(BusOptions options, string registryId, Func<bool> isWriter, ILogger logger) : ICheckpointStore
{
    private const string RegistryHeader = "roster-registry";
    private const string MarkerHeader = "roster-marker";

    public static string StreamNameOf(BusOptions options) => options.StreamName + ".checkpoints";

    /// <summary>
    /// Publishes <paramref name="checkpoint"/> when this node is the cluster's checkpoint writer. Returns its
    /// revision: the log is the stream's, which keeps what its retention keeps whatever a node says.
    /// </summary>
    public async Task<long> SaveAsync(Checkpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var revision = checkpoint.State.Revision;
        if (!isWriter())
        {
            return revision;
        }

        var output = new ArrayBufferWriter<byte>(64 * 1024);
        CheckpointCodec.Write(output, checkpoint);
        try
        {
            await using var connection = await BusConnections.ConnectAsync(options, "roster checkpoint writer", cancellationToken).ConfigureAwait(false);
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), cancellationToken).ConfigureAwait(false);
            await DeclareAsync(channel, options, cancellationToken).ConfigureAwait(false);
            var properties = new BasicProperties
            {
                DeliveryMode = DeliveryModes.Persistent,
                Headers = new Dictionary<string, object?> { [RegistryHeader] = registryId },
            };
            await channel.BasicPublishAsync(string.Empty, StreamNameOf(options), mandatory: false, properties, output.WrittenMemory, cancellationToken).ConfigureAwait(false);
            LogSaved(logger, revision, output.WrittenCount);
        }
        catch (Exception ex) when (BusConnections.IsBusFailure(ex) || ex is PublishException)
        {
            // The node's checkpointing logs IO failures and tries again at the next interval.
            throw new IOException($"The checkpoint at revision {revision} could not be published: {ex.Message}", ex);
        }

        return revision;
    }

    /// <summary>
    /// The newest checkpoint of <paramref name="registryId"/> on the checkpoint stream, or null when there is
    /// none. Appends a marker, then reads from the oldest checkpoint retention kept up to the marker.
    /// </summary>
    public static async Task<Checkpoint?> LoadLatestAsync(BusOptions options, string registryId, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var marker = Guid.NewGuid().ToString("N");
        await using (var connection = await BusConnections.ConnectAsync(options, "roster checkpoint marker", cancellationToken).ConfigureAwait(false))
        {
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), cancellationToken).ConfigureAwait(false);
            await DeclareAsync(channel, options, cancellationToken).ConfigureAwait(false);
            var properties = new BasicProperties { Headers = new Dictionary<string, object?> { [MarkerHeader] = marker } };
            await channel.BasicPublishAsync(string.Empty, StreamNameOf(options), mandatory: false, properties, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }

        var readOptions = options.ForStream(StreamNameOf(options), prefetch: 4);

        byte[]? newest = null;
        long newestOffset = -1;
        await using (var subscription = await StreamSubscription.OpenAsync(readOptions, "roster checkpoint reader", "first", cancellationToken, declare: false).ConfigureAwait(false))
        {
            while (await subscription.Deliveries.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscription.Deliveries.TryRead(out var delivery))
                {
                    if (delivery.Header(MarkerHeader) == marker)
                    {
                        return Decode(newest, newestOffset, logger);
                    }

                    if (delivery.Header(RegistryHeader) == registryId && delivery.Body.Length > 0)
                    {
                        newest = delivery.Body;
                        newestOffset = delivery.Offset;
                    }
                }
            }
        }

        throw new Roster.Core.Log.LogUnavailableException("Reading the checkpoint stream stopped before its end.");
    }

    private static Checkpoint? Decode(byte[]? newest, long offset, ILogger logger)
    {
        if (newest is null)
        {
            return null;
        }

        var checkpoint = CheckpointCodec.Read(newest);
        LogLoaded(logger, checkpoint.State.Revision, offset);
        return checkpoint;
    }

    private static Task DeclareAsync(IChannel channel, BusOptions options, CancellationToken cancellationToken) =>
        channel.QueueDeclareAsync(
            StreamNameOf(options),
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "stream",
                ["x-max-length-bytes"] = options.CheckpointRetentionBytes,
                ["x-stream-max-segment-size-bytes"] = Math.Min(options.SegmentBytes, Math.Max(1, options.CheckpointRetentionBytes / 4)),
            },
            cancellationToken: cancellationToken);

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "Published a checkpoint at revision {Revision} ({Bytes} bytes) for every node")]
    private static partial void LogSaved(ILogger logger, long revision, int bytes);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "Starting from the cluster's checkpoint at revision {Revision} (checkpoint stream offset {Offset})")]
    private static partial void LogLoaded(ILogger logger, long revision, long offset);
}
