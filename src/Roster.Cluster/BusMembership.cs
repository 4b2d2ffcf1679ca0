using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Roster.Core.Node;

namespace Roster.Cluster;

/// <summary>
/// Which nodes of the cluster are alive, heard over the bus but outside the log: each node publishes a small
/// announcement on a fanout exchange while its expiry loop keeps calling <see cref="Announce"/>, and every node
/// listens on a queue of its own. A node whose expiry loop stops stops announcing, so its leases get adopted.
/// <para>
/// After (re)connecting, a node has heard nobody yet; for one <c>within</c> after that it counts every node it
/// ever heard as alive, so a node back from a bus outage does not adopt the leases of nodes that were merely
/// out of earshot.
/// </para>
/// </summary>
public sealed partial class BusMembership : IClusterMembership, IAsyncDisposable
{
    private readonly BusOptions _options;
    private readonly string _nodeId;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, long> _lastHeard = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NodeAnnouncement> _announcements = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private readonly LoopHealth _health = new("bus-membership");
    private long _listeningSince = long.MaxValue;
    private long _lastAnnounceCall = long.MinValue;
    private int _disposed;

    private BusMembership(BusOptions options, string nodeId, ILogger logger, TimeProvider time)
    {
        _options = options;
        _nodeId = nodeId;
        _logger = logger;
        _time = time;
    }

    /// <summary>What this node says about itself in each announcement; set once the node runs. Without it a node
    /// announces only its id.</summary>
    public Func<NodeAnnouncement>? Describe { get; set; }

    /// <summary>The loop that hears and announces the nodes; reported with the node's loops (<see cref="NodeStorage.Loops"/>).</summary>
    public LoopHealth Health => _health;

    /// <summary>Every node heard from since this node started (itself included, once it announced), with what it said last.</summary>
    public IReadOnlyList<ClusterMember> Members()
    {
        var now = _time.GetTimestamp();
        return _lastHeard
            .Select(n => new ClusterMember(
                _announcements.TryGetValue(n.Key, out var said) ? said : new NodeAnnouncement(n.Key, string.Empty, "unknown", 0, 0, 0),
                _time.GetElapsedTime(n.Value, now)))
            .OrderBy(m => m.Announcement.Node, StringComparer.Ordinal)
            .ToList();
    }

    public static BusMembership Start(BusOptions options, string nodeId, ILogger logger, TimeProvider time)
    {
        var membership = new BusMembership(options, nodeId, logger, time);
        membership._loop = Task.Run(
            () => membership._health.RunAsync(() => membership.RunAsync(membership._stopping.Token), ex => LogLoopFailed(logger, ex)),
            CancellationToken.None);
        return membership;
    }

    public void Announce(string nodeId)
    {
        var now = _time.GetTimestamp();
        _lastHeard[nodeId] = now;
        if (nodeId == _nodeId)
        {
            Volatile.Write(ref _lastAnnounceCall, now);
        }
    }

    public IReadOnlyCollection<string> LiveNodes(TimeSpan within)
    {
        var now = _time.GetTimestamp();
        var listeningSince = Volatile.Read(ref _listeningSince);
        var deaf = listeningSince == long.MaxValue || _time.GetElapsedTime(listeningSince, now) < within;
        return _lastHeard
            .Where(n => n.Key == _nodeId || deaf || _time.GetElapsedTime(n.Value, now) <= within)
            .Select(n => n.Key)
            .ToList();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await BusConnections.ConnectAsync(_options, $"roster {_nodeId} membership", cancellationToken).ConfigureAwait(false);
                await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                channel.ChannelShutdownAsync += (_, _) =>
                {
                    closed.TrySetResult();
                    return Task.CompletedTask;
                };
                await channel.ExchangeDeclareAsync(_options.MembersExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                var queue = await channel.QueueDeclareAsync(string.Empty, durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken).ConfigureAwait(false);
                await channel.QueueBindAsync(queue.QueueName, _options.MembersExchange, string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) =>
                {
                    if (Read(delivery.Body.Span) is { } heard)
                    {
                        _announcements[heard.Node] = heard;
                        _lastHeard[heard.Node] = _time.GetTimestamp();
                    }

                    return Task.CompletedTask;
                };
                await channel.BasicConsumeAsync(queue.QueueName, autoAck: true, consumer, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _listeningSince, _time.GetTimestamp());
                delay = TimeSpan.Zero;
                await AnnounceWhileOpenAsync(channel, closed.Task, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (BusConnections.IsBusFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                LogMembershipUnavailable(_logger, ex.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            Volatile.Write(ref _listeningSince, long.MaxValue);
            delay = BusConnections.NextDelay(_options, delay);
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Publishes this node's announcement every interval while the node keeps announcing itself.</summary>
    private async Task AnnounceWhileOpenAsync(IChannel channel, Task closed, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.AnnounceInterval, _time);
        while (!closed.IsCompleted)
        {
            var lastCall = Volatile.Read(ref _lastAnnounceCall);
            if (lastCall != long.MinValue && _time.GetElapsedTime(lastCall) <= _options.AnnounceInterval * 3)
            {
                var announcement = Describe?.Invoke() ?? new NodeAnnouncement(_nodeId, string.Empty, "unknown", 0, 0, 0);
                var body = JsonSerializer.SerializeToUtf8Bytes(announcement with { Node = _nodeId }, ClusterJsonContext.Default.NodeAnnouncement);
                await channel.BasicPublishAsync(_options.MembersExchange, string.Empty, body, cancellationToken).ConfigureAwait(false);
            }

            _health.Progressed(_time);

            await Task.WhenAny(timer.WaitForNextTickAsync(cancellationToken).AsTask(), closed).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private static NodeAnnouncement? Read(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, ClusterJsonContext.Default.NodeAnnouncement) is { Node.Length: > 0 } announcement ? announcement : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 111, Level = LogLevel.Critical, Message = "The bus-membership loop stopped on an error; the node is unhealthy and must be restarted")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Cannot hear the other nodes over the message bus ({Reason}); trying again")]
    private static partial void LogMembershipUnavailable(ILogger logger, string reason);
}
