using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Server.Hosting;

namespace Roster.Server.Tests.Api;

/// <summary>
/// The separate health probe port (<c>Roster:Health:Port</c>): <c>/healthz</c> and <c>/readyz</c> answered by a thread
/// of its own with the same answers as the API's port, one request per connection, and nothing else.
/// </summary>
public sealed class HealthPortTests : IAsyncLifetime
{
    private RosterTestServer _server = null!;
    private IPEndPoint _probes = null!;

    public async Task InitializeAsync()
    {
        _server = await RosterTestServer.StartAsync(true, "--Roster:Health:Port=0");
        _probes = _server.Services.GetRequiredService<HealthListener>().Endpoint!;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, "ok\n")]
    [InlineData("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", 200, "ready\n")]
    [InlineData("GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", 200, "ok\n")]
    [InlineData("HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n", 200, "")]
    [InlineData("GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n", 404, "this port answers /healthz and /readyz\n")]
    [InlineData("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "only GET and HEAD\n")]
    [InlineData("GET /healthz\r\n\r\n", 400, "bad request\n")]
    [InlineData("\u0016\u0003\u0001 hello as TLS would\r\n\r\n", 400, "bad request\n")]
    public async Task Answers_probes_and_refuses_everything_else(string request, int status, string body)
    {
        var (answeredStatus, headers, answeredBody) = await AskAsync(_probes, Encoding.Latin1.GetBytes(request));

        Assert.Equal(status, answeredStatus);
        Assert.Equal(body, answeredBody);
        Assert.Contains("Connection: close", headers, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_header_past_4_KiB_is_refused_and_the_port_keeps_answering()
    {
        var (status, _, _) = await AskAsync(_probes, Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nX-Pad: " + new string('a', 5000) + "\r\n\r\n"));
        Assert.Equal(431, status);

        // A prober that connects and says nothing holds the thread for at most a second, then the next is answered.
        using (var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await silent.ConnectAsync(_probes);
            Assert.Equal(200, (await AskAsync(_probes, Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\n\r\n"))).Status);
        }
    }

    [Fact]
    public async Task A_faulted_loop_turns_both_probes_to_503_on_the_probe_port_as_on_the_api_port()
    {
        var node = _server.Services.GetRequiredService<RegistryNodeHost>().Node;

        // A change the applier cannot apply stops the applier loop.
        await node.Log.AppendAsync([new ChangeEnvelope(node.NodeId, 0, new UnknownChange(new InstanceKey("prod", "orders", "x")), AcceptedAt: 0)], CancellationToken.None);

        await Eventually.TrueAsync(async () => (await AskAsync(_probes, Encoding.ASCII.GetBytes("GET /readyz HTTP/1.1\r\n\r\n"))).Status == 503, "readyz fails on the probe port");
        var (status, _, body) = await AskAsync(_probes, Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\n\r\n"));
        Assert.Equal(503, status);
        Assert.StartsWith("unhealthy: ", body, StringComparison.Ordinal);
        using var api = await _server.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, api.StatusCode);
        Assert.Equal(body, await api.Content.ReadAsStringAsync());
    }

    /// <summary>Sends <paramref name="request"/> on a new connection and reads the answer to its end.</summary>
    private static async Task<(int Status, string Headers, string Body)> AskAsync(IPEndPoint endpoint, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(endpoint, timeout.Token);
        await socket.SendAsync(request, SocketFlags.None, timeout.Token);
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        try
        {
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                await answer.WriteAsync(buffer.AsMemory(0, read));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset && answer.Length > 0)
        {
            // Refused before the whole request was read: the answer came, then the reset.
        }

        var text = Encoding.UTF8.GetString(answer.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), text[..split], text[(split + 4)..]);
    }

    private sealed record UnknownChange(InstanceKey Key) : Change(Key);
}
