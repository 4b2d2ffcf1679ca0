using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Roster.Core.Log;

namespace Roster.Cluster;

/// <summary>
/// A connection and a channel with publisher confirms, for appending to the stream. <see cref="Closed"/>
/// completes when either ends; the owner then opens a new one.
/// </summary>
internal sealed class StreamPublisher : IAsyncDisposable
{
    private static readonly BasicProperties Persistent = new() { DeliveryMode = DeliveryModes.Persistent };

    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _streamName;
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StreamPublisher(IConnection connection, IChannel channel, string streamName)
    {
        _connection = connection;
        _channel = channel;
        _streamName = streamName;
        connection.ConnectionShutdownAsync += (_, args) => Close($"the connection closed: {args.ReplyText}");
        channel.ChannelShutdownAsync += (_, args) => Close($"the channel closed: {args.ReplyText}");
    }

    /// <summary>Completes, with the reason, when the connection or the channel has ended.</summary>
    public Task<string> Closed => _closed.Task;

    /// <summary>The broker this publisher is connected to.</summary>
    public string Broker => $"{_connection.Endpoint.HostName}:{_connection.Endpoint.Port}";

    public static async Task<StreamPublisher> OpenAsync(BusOptions options, string name, CancellationToken cancellationToken)
    {
        var connection = await BusConnections.ConnectAsync(options, name, cancellationToken).ConfigureAwait(false);
        try
        {
            // Tracking on: a publish completes when its confirm arrives, and fails when it is refused.
            var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
                cancellationToken).ConfigureAwait(false);
            await StreamQueue.DeclareAsync(channel, options, cancellationToken).ConfigureAwait(false);
            return new StreamPublisher(connection, channel, options.StreamName);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Publishes <paramref name="body"/> and waits for its confirm. Throws <see cref="LogUnavailableException"/>
    /// when the message certainly was not stored (the channel was already closed), and
    /// <see cref="LogAppendUncertainException"/> when it may have been (no confirm within the timeout, a
    /// connection lost on the way, a refusal).
    /// </summary>
    public async Task PublishAsync(byte[] body, TimeSpan confirmTimeout, TimeProvider time)
    {
        if (_closed.Task.IsCompleted || !_channel.IsOpen)
        {
            throw new LogUnavailableException("The connection to the message bus is closed; the change was not sent.");
        }

        try
        {
            await _channel.BasicPublishAsync(string.Empty, _streamName, mandatory: false, Persistent, body, CancellationToken.None)
                .AsTask()
                .WaitAsync(confirmTimeout, time)
                .ConfigureAwait(false);
        }
        catch (AlreadyClosedException closed)
        {
            throw new LogUnavailableException("The connection to the message bus closed before the change was sent.", closed);
        }
        catch (Exception ex) when (ex is PublishException || BusConnections.IsBusFailure(ex))
        {
            if (ex is TimeoutException)
            {
                // A confirm that does not come means a broker in trouble: open a fresh connection for what follows.
                _closed.TrySetResult("no publisher confirm within " + confirmTimeout);
            }

            throw new LogAppendUncertainException($"The stream may or may not have stored the change: {ex.Message}", ex);
        }
    }

    private Task Close(string reason)
    {
        _closed.TrySetResult(reason);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _closed.TrySetResult("disposed");
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
    }
}
