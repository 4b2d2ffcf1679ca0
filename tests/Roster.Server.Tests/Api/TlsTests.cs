using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Roster.Cli;
using Roster.Client;
using Roster.Client.Connection;

namespace Roster.Server.Tests.Api;

/// <summary>
/// HTTPS with certificates made here (a private CA): the SDK, the CLI and a plain HttpClient connect when they trust
/// that CA; a plain-HTTP request to the TLS port fails cleanly and the node serves on; a client trusting another CA
/// refuses the node; and with a client CA configured, only clients with a certificate it issued get in.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roster-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ClientsTrustingTheCa_Connect_WhilePlainHttpAndAnotherCa_AreRefused()
    {
        var ca = TestCertificates.NewCa("Roster test CA");
        var (certFile, keyFile) = Write("server", TestCertificates.Issue(ca, "127.0.0.1", serverAuth: true));
        var caFile = Write("ca", ca);
        var otherCaFile = Write("other-ca", TestCertificates.NewCa("Somebody else's CA"));
        await using var app = RosterServer.Build(["--urls=https://127.0.0.1:0", "--Roster:Storage:InMemory=true", $"--Roster:Tls:CertificateFile={certFile}", $"--Roster:Tls:KeyFile={keyFile}"]);
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());
        Assert.Equal("https", address.Scheme);

        using (var client = TrustingClient(address, caFile))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        }

        var options = new RosterClientOptions { CaFile = caFile };
        options.Servers.Add(address);
        using (var sdk = new RosterClient(options))
        {
            var registered = await sdk.RegisterAsync(new InstanceRegistration("prod", "orders", "a1", "10.0.0.1", 8080));
            Assert.True(registered.Incarnation > 0);
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, await RosterCommandLine.RunAsync(["instances", "orders", "-n", "prod", "--server", address.ToString(), "--ca-file", caFile], output, error));
        Assert.Contains("a1", output.ToString(), StringComparison.Ordinal);

        // Plain HTTP to the TLS port: refused at once, not hung, and the node serves on.
        using (var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
        {
            var plainAddress = new UriBuilder(address) { Scheme = "http", Path = "/readyz" }.Uri;
            var answered = await Record.ExceptionAsync(async () =>
            {
                using var response = await plain.GetAsync(plainAddress);
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            });
            Assert.True(answered is null or HttpRequestException, $"plain HTTP: {answered}");
        }

        using (var wrong = TrustingClient(address, otherCaFile))
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrong.GetAsync(new Uri("/readyz", UriKind.Relative)));
            Assert.IsType<AuthenticationException>(refused.InnerException);
        }

        using (var again = TrustingClient(address, caFile))
        {
            Assert.Equal(HttpStatusCode.OK, (await again.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        }
    }

    [Fact]
    public async Task WithAClientCa_OnlyClientsWithACertificateItIssued_GetIn()
    {
        var ca = TestCertificates.NewCa("Roster test CA");
        var clientCa = TestCertificates.NewCa("Roster clients CA");
        var (certFile, keyFile) = Write("server", TestCertificates.Issue(ca, "127.0.0.1", serverAuth: true));
        var (goodCert, goodKey) = Write("good-client", TestCertificates.Issue(clientCa, "orders-service", serverAuth: false));
        var (strangerCert, strangerKey) = Write("stranger", TestCertificates.Issue(TestCertificates.NewCa("Another CA"), "stranger", serverAuth: false));
        var caFile = Write("ca", ca);
        await using var app = RosterServer.Build(
        [
            "--urls=https://127.0.0.1:0", "--Roster:Storage:InMemory=true", $"--Roster:Tls:CertificateFile={certFile}", $"--Roster:Tls:KeyFile={keyFile}",
            $"--Roster:Tls:ClientCaFile={Write("client-ca", clientCa)}",
        ]);
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());

        using (var good = TrustingClient(address, caFile, goodCert, goodKey))
        {
            Assert.Equal(HttpStatusCode.OK, (await good.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        }

        using (var anonymous = TrustingClient(address, caFile))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync(new Uri("/readyz", UriKind.Relative)));
        }

        using (var stranger = TrustingClient(address, caFile, strangerCert, strangerKey))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => stranger.GetAsync(new Uri("/readyz", UriKind.Relative)));
        }
    }

    [Fact]
    public void AMissingKey_StopsTheNodeAtStart_NamingTheSetting()
    {
        var (certFile, _) = Write("server", TestCertificates.Issue(TestCertificates.NewCa("CA"), "127.0.0.1", serverAuth: true));

        var refused = Assert.Throws<InvalidOperationException>(() => RosterServer.Build(["--urls=https://127.0.0.1:0", "--Roster:Storage:InMemory=true", $"--Roster:Tls:CertificateFile={certFile}"]));

        Assert.Contains("Roster:Tls:KeyFile", refused.Message, StringComparison.Ordinal);
    }

    private static HttpClient TrustingClient(Uri address, string caFile, string? clientCert = null, string? clientKey = null)
    {
        var handler = new SocketsHttpHandler();
        RegistryTls.Configure(handler.SslOptions, caFile, clientCert, clientKey);
        return new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    private string Write(string name, X509Certificate2 certificate) => TestCertificates.Write(_directory, name, certificate);

    private (string Certificate, string Key) Write(string name, (X509Certificate2 Certificate, ECDsa Key) issued) =>
        TestCertificates.Write(_directory, name, issued);
}
