using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RabbitMQ.Client.Exceptions;
using Roster.Server;

namespace Roster.Cluster.Tests;

/// <summary>
/// A node's connections to the message bus over TLS (<c>amqps://</c> brokers): with the brokers' private CA named
/// (<c>Roster:Cluster:CaFile</c>) a cluster node works through them end to end; a client certificate is presented when
/// configured (the broker lists it); a node trusting another CA, or speaking plain AMQP to the TLS port, is refused.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class BusTlsTests(BrokersFixture brokers) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roster-bus-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_node_whose_brokers_are_amqps_registers_through_them_trusting_their_ca()
    {
        var bus = TlsBus("tls-node");
        await using var cluster = await ClusterProcesses.StartAsync(bus, 1, $"--Roster:Cluster:CaFile={brokers.Cluster.CaFile}");
        var node = cluster.Nodes[0];

        using var registered = await node.Client.PutAsJsonAsync("/api/v1/namespaces/prod/services/orders/instances/a1", new { address = "10.0.0.1", port = 8080 });

        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var status = await node.Client.GetFromJsonAsync<JsonElement>("/api/v1/status");
        Assert.Equal("connected", status.GetProperty("bus").GetString());
        Assert.Equal(1, status.GetProperty("instances").GetInt32());
    }

    [Fact]
    public async Task A_client_certificate_is_presented_to_the_broker()
    {
        var (certificateFile, keyFile) = TestCertificates.Write(_directory, "node", TestCertificates.Issue(brokers.Cluster.Ca!, "roster-node-7", serverAuth: false));
        var bus = TlsBus("tls-client-cert", onlyFirstBroker: true);
        bus.CaFile = brokers.Cluster.CaFile;
        bus.ClientCertificateFile = certificateFile;
        bus.ClientKeyFile = keyFile;

        await using var connection = await BusConnections.ConnectAsync(bus, "roster tls test", CancellationToken.None);

        Assert.True(connection.IsOpen);
        await Eventually.TrueAsync(
            async () => (await brokers.Cluster.ConnectionCertificatesAsync(0)).Any(subject => subject.Contains("roster-node-7", StringComparison.Ordinal)),
            "the broker lists the node's certificate");
    }

    [Fact]
    public async Task Another_ca_or_plain_amqp_on_the_tls_port_is_refused()
    {
        var otherCa = TestCertificates.Write(_directory, "other-ca", TestCertificates.NewCa("Somebody else's CA"));
        var distrusting = TlsBus("tls-other-ca", onlyFirstBroker: true);
        distrusting.CaFile = otherCa;
        var plain = new BusOptions();
        plain.Brokers.Add(new UriBuilder(brokers.Cluster.TlsAddresses[0]) { Scheme = "amqp" }.Uri);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var untrusted = await Assert.ThrowsAsync<BrokerUnreachableException>(() => BusConnections.ConnectAsync(distrusting, "roster tls test", timeout.Token));
        await Assert.ThrowsAsync<BrokerUnreachableException>(() => BusConnections.ConnectAsync(plain, "roster tls test", timeout.Token));

        Assert.Contains("certificate", Flatten(untrusted), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_missing_ca_file_or_a_certificate_without_its_key_stops_the_node_naming_the_setting()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => RosterServer.Build(["--Roster:Storage:InMemory=true", "--Roster:Cluster:CaFile=/nonexistent/ca.pem"]));
        var halfPair = Assert.Throws<InvalidOperationException>(() => RosterServer.Build(["--Roster:Storage:InMemory=true", $"--Roster:Cluster:ClientCertificateFile={brokers.Cluster.CaFile}"]));

        Assert.Contains("Roster:Cluster:CaFile", missing.Message, StringComparison.Ordinal);
        Assert.Contains("ClientKeyFile", halfPair.Message, StringComparison.Ordinal);
    }

    private BusOptions TlsBus(string name, bool onlyFirstBroker = false)
    {
        if (brokers.Cluster.TlsAddresses.Count == 0)
        {
            throw new InvalidOperationException("These tests need brokers started by the fixture (ROSTER_TEST_BROKERS has no TLS listeners).");
        }

        var bus = brokers.NewBus(name);
        bus.Brokers.Clear();
        foreach (var address in onlyFirstBroker ? brokers.Cluster.TlsAddresses.Take(1) : brokers.Cluster.TlsAddresses)
        {
            bus.Brokers.Add(address);
        }

        return bus;
    }

    private static string Flatten(Exception error) =>
        error.InnerException is null ? error.Message : error.Message + " / " + Flatten(error.InnerException);
}
