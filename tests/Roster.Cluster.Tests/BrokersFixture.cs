namespace Roster.Cluster.Tests;

/// <summary>One three-broker RabbitMQ cluster shared by every test of the collection: brokers take about 20 s
/// to start, so each test uses its own stream on them instead of its own brokers.</summary>
public sealed class BrokersFixture : IAsyncLifetime
{
    private BrokerCluster? _cluster;

    public BrokerCluster Cluster => _cluster ?? throw new InvalidOperationException("The brokers have not started.");

    /// <summary>Bus options for a fresh stream (and members exchange) of one test.</summary>
    public BusOptions NewBus(string test)
    {
        var suffix = test + "." + Guid.NewGuid().ToString("N")[..8];
        var options = new BusOptions
        {
            StreamName = "roster.test." + suffix,
            MembersExchange = "roster.test.members." + suffix,
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
        };
        foreach (var address in Cluster.Addresses)
        {
            options.Brokers.Add(address);
        }

        return options;
    }

    public async Task InitializeAsync() => _cluster = await BrokerCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedBrokers : ICollectionFixture<BrokersFixture>
{
    public const string Name = "brokers";
}
