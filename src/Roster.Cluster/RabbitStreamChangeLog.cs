using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Roster.Core.Log;
using Roster.Core.Log.Stream;
using Roster.Core.Node;

namespace Roster.Cluster;

/// <summary>
/// The change log of a cluster node: one RabbitMQ stream queue that every node appends its batches to and
/// reads back in stream order (AMQP 0.9.1, no plugin). The rules that make every node turn the stream into
/// the same records (positions from offsets, copies skipped) are <see cref="StreamSequencer"/>'s, shared with
/// the in-process <see cref="StreamChangeLog"/>; this class carries messages to and from the brokers.
/// <list type="bullet">
/// <item><b>Appends</b> publish one message per batch and wait for its confirm, which carries no offset: the
/// node answers its callers from what it reads. No confirm in time, or a connection lost on the way, is an
/// unknown outcome (<see cref="LogAppendUncertainException"/>); a closed connection is
/// <see cref="LogUnavailableException"/> (503, retry at another node).</item>
/// <item><b>Reading</b> consumes with manual acknowledgements and a prefetch, takes each message's offset from
/// its <c>x-stream-offset</c> header, and after a broken connection subscribes again from the offset after the
/// last one it read, on any broker (the client's own recovery would start over from the first offset,
/// rabbitmq-dotnet-client#1314). Offsets are not contiguous (each segment file starts with a chunk that takes
/// an offset and is never delivered); a subscription that starts more than one offset after where it asked,
/// past offsets the node needs (retention dropped them), ends the reader with
/// <see cref="LogEntriesDroppedException"/>: the node turns failed instead of applying a registry with a hole.</item>
/// <item><b>How far the stream reaches</b> has no query over AMQP: <see cref="GetLastPositionAsync"/> appends a
/// barrier (a message without changes) and returns its position once this node's reader has read it.
/// Concurrent callers share one barrier.</item>
/// <item><b>The registry id</b> lives in the stream: every message carries the id its node adopted, and a node
/// that starts reads the stream from its first kept message until it finds one (or, on a new stream, until its
/// own first barrier, adopting the first id proposed). A client that fails over between nodes keeps its watch.</item>
/// </list>
/// </summary>
public sealed partial class RabbitStreamChangeLog : IChangeLog
{
    private readonly BusOptions _options;
    private readonly string _origin;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();

    // Barriers published and not read back yet, by batch id: who waits for each.
    private readonly ConcurrentDictionary<long, List<TaskCompletionSource<long>>> _barriers = new();
    private readonly Channel<TaskCompletionSource<long>> _barrierRequests =
        Channel.CreateUnbounded<TaskCompletionSource<long>>(new UnboundedChannelOptions { SingleReader = true });

    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Replaced only by the publisher loop; null while the bus is unreachable.
    private StreamPublisher? _publisher;
    private Task _publisherLoop = Task.CompletedTask;
    private Task _barrierLoop = Task.CompletedTask;
    private readonly LoopHealth _publisherHealth = new("bus-publisher");
    private readonly LoopHealth _barrierHealth = new("bus-barriers");
    private long _nextBatchId;
    private int _readerConnected;
    private long _readerLostAt;
    private long _reconnects;
    private string _registryId = string.Empty;

    private RabbitStreamChangeLog(BusOptions options, string origin, ILogger logger, TimeProvider time)
    {
        _options = options;
        _origin = origin;
        _logger = logger;
        _time = time;

        // Batch ids need only be unique per origin among the messages of a dedup window; a random start keeps a
        // restarted process's ids apart from those its previous run left in the stream.
        _nextBatchId = Random.Shared.NextInt64(1, long.MaxValue / 2);
    }

    /// <summary>The registry id held in the stream, the same on every node of the cluster.</summary>
    public string RegistryId => _registryId;

    /// <summary>True while this node can publish to the stream.</summary>
    public bool IsPublishing => Volatile.Read(ref _publisher) is not null;

    /// <summary>True while this node's reader is subscribed to the stream.</summary>
    public bool IsReading => Volatile.Read(ref _readerConnected) == 1;

    /// <summary>How long this node's reader has been cut off from the stream (what it serves may be that stale);
    /// null while it reads.</summary>
    public TimeSpan? NotReadingFor =>
        Volatile.Read(ref _readerLostAt) is var lostAt && lostAt != 0 ? _time.GetElapsedTime(lostAt) : null;

    /// <summary>The log's own loops: the publisher connection's keeper and the barrier publisher. One that stops on an
    /// error is reported with the node's loops (<see cref="NodeStorage.Loops"/>) and makes the node unhealthy.</summary>
    public IReadOnlyList<LoopHealth> Loops => [_publisherHealth, _barrierHealth];

    /// <summary>Connections to the bus opened again after one was lost (publisher and reader).</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>
    /// Connects to the bus (waiting for it, with backoff, until <paramref name="cancellationToken"/> gives up),
    /// declares the stream, and learns the cluster's registry id from it.
    /// </summary>
    public static async Task<RabbitStreamChangeLog> OpenAsync(
        BusOptions options, string nodeId, ILogger logger, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        var log = new RabbitStreamChangeLog(options, nodeId, logger, time);
        log._publisherLoop = Task.Run(
            () => log._publisherHealth.RunAsync(() => log.RunPublisherAsync(log._stopping.Token), ex => LogLoopFailed(logger, ex, "bus-publisher")),
            CancellationToken.None);
        log._barrierLoop = Task.Run(
            () => log._barrierHealth.RunAsync(() => log.RunBarriersAsync(log._stopping.Token), ex => LogLoopFailed(logger, ex, "bus-barriers")),
            CancellationToken.None);
        try
        {
            log._registryId = await log.ResolveRegistryIdAsync(cancellationToken).ConfigureAwait(false);
            LogJoined(logger, options.StreamName, log._registryId);
            return log;
        }
        catch
        {
            await log.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var publisher = Volatile.Read(ref _publisher)
            ?? throw new LogUnavailableException("The message bus is unreachable; the change was not sent. Retry at another node.");
        for (var start = 0; start < entries.Count; start += StreamChangeLog.MaxChangesPerMessage)
        {
            var changes = entries.Count <= StreamChangeLog.MaxChangesPerMessage
                ? entries
                : entries.Skip(start).Take(StreamChangeLog.MaxChangesPerMessage).ToArray();
            var message = new StreamMessage(_origin, Interlocked.Increment(ref _nextBatchId), changes) { RegistryId = _registryId };
            await publisher.PublishAsync(StreamMessageCodec.Encode(message), _options.ConfirmTimeout, _time).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<IReadOnlyList<LogRecord>> ReadAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var token = linked.Token;
        var sequencer = new StreamSequencer(_options.DedupWindow);
        var needed = StreamSequencer.OffsetOf(fromPosition);

        // Start a window early, so copies of messages before the first one needed are recognised.
        var next = Math.Max(0, needed - _options.DedupWindow);
        var delay = TimeSpan.Zero;
        while (true)
        {
            var subscription = await SubscribeAsync(next, delay, token).ConfigureAwait(false);
            if (subscription is null)
            {
                delay = BusConnections.NextDelay(_options, delay);
                continue;
            }

            delay = TimeSpan.Zero;
            Volatile.Write(ref _readerConnected, 1);
            Volatile.Write(ref _readerLostAt, 0);
            await using (subscription.ConfigureAwait(false))
            {
                var first = true;
                while (await NextDeliveryAsync(subscription, token).ConfigureAwait(false) is { } delivery)
                {
                    if (delivery.Offset < next)
                    {
                        // The broker starts at the beginning of the chunk holding the offset asked for.
                        continue;
                    }

                    // Offsets are not contiguous: the broker starts each segment file with a chunk of its own
                    // that takes one offset and is never delivered. Within a subscription every message is
                    // delivered in order, so only its first delivery can reveal messages retention dropped.
                    if (first && delivery.Offset > next + 1)
                    {
                        OnGap(next, delivery.Offset, needed);
                    }

                    first = false;

                    var message = StreamMessageCodec.Decode(delivery.Body, delivery.Offset);
                    next = delivery.Offset + 1;
                    if (message.IsBarrier && message.Origin == _origin && _barriers.TryRemove(message.BatchId, out var waiting))
                    {
                        var position = StreamSequencer.PositionOf(message.Offset, 0);
                        foreach (var waiter in waiting)
                        {
                            waiter.TrySetResult(position);
                        }
                    }

                    if (sequencer.Accept(message, fromPosition) is { } records)
                    {
                        yield return records;
                    }
                }
            }

            Volatile.Write(ref _readerConnected, 0);
            Volatile.Write(ref _readerLostAt, _time.GetTimestamp());
            Interlocked.Increment(ref _reconnects);
        }
    }

    /// <summary>
    /// A subscription from <paramref name="expected"/> started at <paramref name="found"/>, more than one offset
    /// later: retention dropped messages before this node read them. Harmless while they only fill the
    /// deduplication window; fatal when the node needs them.
    /// </summary>
    private void OnGap(long expected, long found, long needed)
    {
        if (found > needed + 1)
        {
            throw new LogEntriesDroppedException(
                $"The stream no longer holds offsets {Math.Max(expected, needed)} to {found - 1}, which this node has not applied (retention dropped them). " +
                "Start the node from a checkpoint that covers them.");
        }

        LogWindowShortened(_logger, expected, found - 1);
    }

    private async Task<StreamSubscription?> SubscribeAsync(long offset, TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await StreamSubscription.OpenAsync(_options, $"roster {_origin} reader", offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (BusConnections.IsBusFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            LogReaderUnavailable(_logger, ex.Message, offset);
            return null;
        }
    }

    /// <summary>The next delivery, or null when the subscription broke (the reader then subscribes again).</summary>
    private async ValueTask<Delivery?> NextDeliveryAsync(StreamSubscription subscription, CancellationToken cancellationToken)
    {
        var deliveries = subscription.Deliveries;
        try
        {
            Delivery delivery;
            while (!deliveries.TryRead(out delivery))
            {
                if (!await deliveries.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }
            }

            return delivery.Offset < 0
                ? throw new InvalidDataException("A message from the stream has no x-stream-offset header; is the queue a stream?")
                : delivery;
        }
        catch (LogUnavailableException lost)
        {
            LogReaderLost(_logger, lost.Message);
            return null;
        }
    }

    public async ValueTask<long> GetLastPositionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _publisher) is null)
        {
            throw new LogUnavailableException("The message bus is unreachable, so how far the log reaches is unknown.");
        }

        var request = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _barrierRequests.Writer.TryWrite(request);
        try
        {
            return await request.Task.WaitAsync(_options.ConfirmTimeout * 2, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException timeout)
        {
            throw new LogUnavailableException("A barrier appended to the stream did not come back in time.", timeout);
        }
    }

    /// <summary>The position of the oldest message retention kept (read with a short-lived consumer).</summary>
    public async Task<long> GetFirstPositionAsync(CancellationToken cancellationToken)
    {
        var subscription = await StreamSubscription.OpenAsync(_options, $"roster {_origin} probe", "first", cancellationToken).ConfigureAwait(false);
        await using (subscription.ConfigureAwait(false))
        {
            return await NextDeliveryAsync(subscription, cancellationToken).ConfigureAwait(false) is { } first
                ? StreamSequencer.PositionOf(first.Offset, 0)
                : throw new LogUnavailableException("The stream could not be read.");
        }
    }

    /// <summary>Publishes one barrier for every group of callers that asked while the previous one was going out.</summary>
    private async Task RunBarriersAsync(CancellationToken cancellationToken)
    {
        var requests = _barrierRequests.Reader;
        try
        {
            while (await requests.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var waiting = new List<TaskCompletionSource<long>>();
                while (requests.TryRead(out var request))
                {
                    waiting.Add(request);
                }

                var batchId = Interlocked.Increment(ref _nextBatchId);
                _barriers[batchId] = waiting;
                try
                {
                    var publisher = Volatile.Read(ref _publisher)
                        ?? throw new LogUnavailableException("The message bus is unreachable.");
                    var barrier = new StreamMessage(_origin, batchId, []) { RegistryId = _registryId };
                    await publisher.PublishAsync(StreamMessageCodec.Encode(barrier), _options.ConfirmTimeout, _time).ConfigureAwait(false);
                    _barrierHealth.Progressed(_time);
                }
                catch (LogUnavailableException unavailable)
                {
                    _barriers.TryRemove(batchId, out _);
                    foreach (var waiter in waiting)
                    {
                        waiter.TrySetException(unavailable);
                    }
                }
                catch (LogAppendUncertainException)
                {
                    // It may still arrive; its callers give up at their own deadline.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Keeps one publisher connection open, reconnecting with backoff to any broker when it is lost.</summary>
    private async Task RunPublisherAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.Zero;
        var everConnected = false;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                StreamPublisher publisher;
                try
                {
                    publisher = await StreamPublisher.OpenAsync(_options, $"roster {_origin} publisher", cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (BusConnections.IsBusFailure(ex) && !cancellationToken.IsCancellationRequested)
                {
                    delay = BusConnections.NextDelay(_options, delay);
                    LogPublisherUnavailable(_logger, ex.Message, delay);
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                delay = TimeSpan.Zero;
                if (everConnected)
                {
                    Interlocked.Increment(ref _reconnects);
                }

                everConnected = true;
                LogPublisherConnected(_logger, publisher.Broker);
                _publisherHealth.Progressed(_time);
                Volatile.Write(ref _publisher, publisher);
                _firstConnection.TrySetResult();
                string reason;
                try
                {
                    reason = await publisher.Closed.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _publisher, null);
                    await publisher.DisposeAsync().ConfigureAwait(false);
                }

                LogPublisherLost(_logger, reason);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Learns the registry id from the stream: the id of the first message that carries one; on a stream that
    /// has none yet, the first id proposed, which every node reading the same stream finds too.
    /// </summary>
    private async Task<string> ResolveRegistryIdAsync(CancellationToken cancellationToken)
    {
        var proposal = Guid.NewGuid().ToString("N");
        var hellos = new HashSet<long>();
        var delay = TimeSpan.Zero;
        while (true)
        {
            await _firstConnection.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            var helloId = Interlocked.Increment(ref _nextBatchId);
            hellos.Add(helloId);
            try
            {
                var publisher = Volatile.Read(ref _publisher) ?? throw new LogUnavailableException("The message bus is unreachable.");
                var hello = new StreamMessage(_origin, helloId, []) { ProposedRegistryId = proposal };
                await publisher.PublishAsync(StreamMessageCodec.Encode(hello), _options.ConfirmTimeout, _time).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LogUnavailableException or LogAppendUncertainException)
            {
                delay = BusConnections.NextDelay(_options, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var subscription = await SubscribeAsync(0, delay, cancellationToken).ConfigureAwait(false);
            if (subscription is null)
            {
                delay = BusConnections.NextDelay(_options, delay);
                continue;
            }

            await using (subscription.ConfigureAwait(false))
            {
                string? candidate = null;
                while (await NextDeliveryAsync(subscription, cancellationToken).ConfigureAwait(false) is { } delivery)
                {
                    var message = StreamMessageCodec.Decode(delivery.Body, delivery.Offset);
                    if (message.RegistryId.Length > 0)
                    {
                        return message.RegistryId;
                    }

                    candidate ??= message.ProposedRegistryId.Length > 0 ? message.ProposedRegistryId : null;
                    if (message.Origin == _origin && hellos.Contains(message.BatchId))
                    {
                        return candidate ?? proposal;
                    }
                }
            }

            delay = BusConnections.NextDelay(_options, delay);
        }
    }

    /// <summary>Retention belongs to the stream; a node never deletes from it.</summary>
    public ValueTask TruncateBeforeAsync(long position, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _barrierRequests.Writer.TryComplete();
        await Task.WhenAll(_publisherLoop, _barrierLoop).ConfigureAwait(false);
        foreach (var waiting in _barriers.Values)
        {
            foreach (var waiter in waiting)
            {
                waiter.TrySetException(new LogUnavailableException("The node is stopping."));
            }
        }

        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 107, Level = LogLevel.Critical, Message = "The {Loop} loop stopped on an error; the node is unhealthy and must be restarted")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string loop);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Joined the cluster on stream {Stream}: registry id {RegistryId}")]
    private static partial void LogJoined(ILogger logger, string stream, string registryId);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Publishing to the stream through broker {Broker}")]
    private static partial void LogPublisherConnected(ILogger logger, string broker);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Lost the publisher connection to the message bus ({Reason}); writes answer 503 until it is back")]
    private static partial void LogPublisherLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "The message bus is unreachable ({Reason}); trying again in {Delay}")]
    private static partial void LogPublisherUnavailable(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Cannot read the stream ({Reason}); will subscribe again from offset {Offset}")]
    private static partial void LogReaderUnavailable(ILogger logger, string reason, long offset);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Reading the stream broke off ({Reason}); subscribing again from the next offset")]
    private static partial void LogReaderLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Retention dropped offsets {From} to {To} before this node read them; they were only needed to recognise copies")]
    private static partial void LogWindowShortened(ILogger logger, long from, long to);
}

/// <summary>The stream no longer holds entries the node needs: retention dropped them before it applied them.</summary>
public sealed class LogEntriesDroppedException(string message) : Exception(message);
