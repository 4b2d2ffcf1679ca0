using RabbitMQ.Client;

namespace Roster.Cluster;

/// <summary>Opens connections to the cluster's brokers. The client's automatic recovery stays off: it would
/// re-subscribe a stream consumer from its original offset (rabbitmq-dotnet-client#1314), so every user of a
/// connection reconnects by itself, from where it was.</summary>
internal static class BusConnections
{
    public static Task<IConnection> ConnectAsync(BusOptions options, string name, CancellationToken cancellationToken)
    {
        if (options.Brokers.Count == 0)
        {
            throw new InvalidOperationException("No brokers are configured (Roster:Cluster:Brokers).");
        }

        var factory = new ConnectionFactory
        {
            Uri = options.Brokers[0],
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedHeartbeat = TimeSpan.FromSeconds(5),
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
            ContinuationTimeout = TimeSpan.FromSeconds(10),
            ClientProvidedName = name,
        };

        // Any broker will do; spreading the nodes' first choice spreads their connections.
        var endpoints = options.Brokers
            .Select(broker => new AmqpTcpEndpoint(broker.Host, broker.Port, BusTls.For(broker, options)))
            .OrderBy(_ => Random.Shared.Next())
            .ToList();
        return factory.CreateConnectionAsync(endpoints, cancellationToken);
    }

    /// <summary>The next wait of an exponential backoff with jitter, between the configured bounds.</summary>
    public static TimeSpan NextDelay(BusOptions options, TimeSpan previous)
    {
        var doubled = previous <= TimeSpan.Zero ? options.ReconnectDelay : previous * 2;
        var capped = doubled > options.MaxReconnectDelay ? options.MaxReconnectDelay : doubled;
        return capped * (0.75 + (Random.Shared.NextDouble() * 0.5));
    }

    /// <summary>Errors that mean the bus is unreachable or the connection broke, as opposed to bugs.</summary>
    public static bool IsBusFailure(Exception error) =>
        error is RabbitMQ.Client.Exceptions.RabbitMQClientException
            or RabbitMQ.Client.Exceptions.OperationInterruptedException
            or RabbitMQ.Client.Exceptions.AlreadyClosedException
            or RabbitMQ.Client.Exceptions.BrokerUnreachableException
            or IOException
            or System.Net.Sockets.SocketException
            or TimeoutException
            or OperationCanceledException;
}
