using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Roster.Core.Log;

namespace Roster.Cluster;

/// <summary>A message read from the stream: its offset (from the <c>x-stream-offset</c> header) and its bytes.</summary>
internal readonly record struct Delivery(long Offset, byte[] Body, IDictionary<string, object?>? Headers = null)
{
    /// <summary>A string header (AMQP carries them as bytes), or null.</summary>
    public string? Header(string name) =>
        Headers?.TryGetValue(name, out var value) == true
            ? value switch { byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes), string text => text, _ => null }
            : null;
}

/// <summary>
/// One consumer of the stream on a connection of its own, from a given offset. Deliveries are copied into a
/// bounded queue (so a slow reader slows the broker down instead of filling memory) and acknowledged in
/// groups, which is what keeps a stream consumer's credit flowing. When the connection, the channel or the
/// consumer ends, the queue ends with a <see cref="LogUnavailableException"/> after the deliveries it holds;
/// the reader then opens a new subscription from where it was.
/// </summary>
internal sealed class StreamSubscription : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly Channel<Delivery> _deliveries;
    private readonly CancellationTokenSource _closing = new();
    private readonly int _ackEvery;
    private int _unacknowledged;

    private StreamSubscription(IConnection connection, IChannel channel, int capacity)
    {
        _connection = connection;
        _channel = channel;
        _ackEvery = Math.Max(1, capacity / 4);
        _deliveries = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        connection.ConnectionShutdownAsync += (_, args) => End($"the connection to the broker closed ({args.ReplyText})");
        channel.ChannelShutdownAsync += (_, args) => End($"the channel closed ({args.ReplyText})");
    }

    public ChannelReader<Delivery> Deliveries => _deliveries.Reader;

    /// <summary>
    /// Subscribes to the stream from <paramref name="offset"/>: a number, or <c>"first"</c> for the oldest message
    /// retention kept.
    /// </summary>
    public static async Task<StreamSubscription> OpenAsync(BusOptions options, string name, object offset, CancellationToken cancellationToken, bool declare = true)
    {
        var connection = await BusConnections.ConnectAsync(options, name, cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (declare)
            {
                await StreamQueue.DeclareAsync(channel, options, cancellationToken).ConfigureAwait(false);
            }

            await channel.BasicQosAsync(0, options.Prefetch, global: false, cancellationToken).ConfigureAwait(false);
            var subscription = new StreamSubscription(connection, channel, options.Prefetch);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += subscription.OnReceivedAsync;
            consumer.UnregisteredAsync += (_, _) => subscription.End("the broker cancelled the consumer");
            await channel.BasicConsumeAsync(
                options.StreamName,
                autoAck: false,
                consumerTag: string.Empty,
                noLocal: false,
                exclusive: false,
                arguments: new Dictionary<string, object?> { ["x-stream-offset"] = offset },
                consumer,
                cancellationToken).ConfigureAwait(false);
            return subscription;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        // The body belongs to the client only until this handler returns.
        var offset = delivery.BasicProperties.Headers?.TryGetValue("x-stream-offset", out var value) == true
            ? value switch { long l => l, int i => i, _ => -1 }
            : -1;
        try
        {
            await _deliveries.Writer.WriteAsync(new Delivery(offset, delivery.Body.ToArray(), delivery.BasicProperties.Headers), _closing.Token).ConfigureAwait(false);
            if (++_unacknowledged >= _ackEvery)
            {
                _unacknowledged = 0;
                await _channel.BasicAckAsync(delivery.DeliveryTag, multiple: true, _closing.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException || BusConnections.IsBusFailure(ex))
        {
            // Closing, or the connection broke: the shutdown handlers end the queue.
        }
    }

    private Task End(string reason)
    {
        _deliveries.Writer.TryComplete(new LogUnavailableException($"Reading the stream stopped: {reason}."));
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        _deliveries.Writer.TryComplete();
        try
        {
            await _channel.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (BusConnections.IsBusFailure(ex))
        {
            // Already gone.
        }

        await _channel.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _closing.Dispose();
    }
}

/// <summary>The stream queue's declaration, the same from every node (a queue declared again with other
/// arguments is refused by the broker).</summary>
internal static class StreamQueue
{
    public static Task DeclareAsync(IChannel channel, BusOptions options, CancellationToken cancellationToken) =>
        channel.QueueDeclareAsync(
            options.StreamName,
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "stream",
                ["x-max-length-bytes"] = options.MaxLengthBytes,
                ["x-stream-max-segment-size-bytes"] = options.SegmentBytes,
            },
            cancellationToken: cancellationToken);
}
