using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;

namespace Roster.Server.Hosting;

/// <summary>Where the health probes are answered apart from the API (<c>Roster:Health</c>, <c>roster serve --health-port</c>).</summary>
public sealed class HealthOptions
{
    /// <summary>The port of the probe listener; 0 picks a free one. Default: none (probes use the API's port only).</summary>
    public int? Port { get; set; }

    /// <summary>The address it listens on. Default 127.0.0.1 (<c>roster serve</c> passes its <c>--host</c>).</summary>
    public string Address { get; set; } = "127.0.0.1";
}

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> on a port of their own, answered by one dedicated thread with blocking sockets.
/// In a deployment storm the API's connections queue thousands of requests on the thread pool, and a probe waiting
/// behind them times out: an orchestrator then restarts a node that was only busy, and the restart brings the storm
/// back (seed 001's loop). Nothing queues ahead of this thread; only a collection pause can hold it. It listens from
/// before the node has replayed its log: <c>/healthz</c> says the process is alive (<c>starting</c>) while
/// <c>/readyz</c> says 503 until the node is ready. One request per connection, plain HTTP/1.1, GET or HEAD.
/// </summary>
internal sealed partial class HealthListener(IOptions<HealthOptions> options, RegistryNodeHost host, ILogger<HealthListener> logger) : IHostedService, IDisposable
{
    private const int MaxRequestBytes = 4096;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(1);
    private Socket? _listener;
    private Thread? _thread;
    private volatile bool _stopping;

    /// <summary>Where the probes are answered, once listening.</summary>
    public IPEndPoint? Endpoint { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Port is not { } port)
        {
            return Task.CompletedTask;
        }

        if (port is < 0 or > 65535)
        {
            throw new InvalidOperationException($"Roster:Health:Port must be between 0 and 65535, not {port}.");
        }

        var address = options.Value.Address switch
        {
            "*" or "+" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            var given => IPAddress.TryParse(given, out var parsed) ? parsed : null,
        };
        if (address is null)
        {
            throw new InvalidOperationException($"Roster:Health:Address: '{options.Value.Address}' is not an IP address.");
        }

        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        Endpoint = (IPEndPoint)listener.LocalEndPoint!;
        _thread = new Thread(Serve) { IsBackground = true, Name = "roster health probes" };
        _thread.Start();
        Log.Listening(logger, $"http://{Endpoint}");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _listener?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping = true;
        _listener?.Dispose();
    }

    private void Serve()
    {
        var buffer = new byte[MaxRequestBytes];
        try
        {
            while (!_stopping)
            {
                Socket connection;
                try
                {
                    connection = _listener!.Accept();
                }
                catch (Exception e) when (_stopping && e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException e)
                {
                    // Out of descriptors, a connection reset before it was accepted: the next one may do.
                    Log.AcceptFailed(logger, e.SocketErrorCode);
                    continue;
                }

                using (connection)
                {
                    try
                    {
                        Answer(connection, buffer);
                    }
                    catch (SocketException)
                    {
                        // The prober went away or sent nothing in time: its connection alone is lost.
                    }
                }
            }
        }
        catch (Exception e) when (!_stopping)
        {
            // Probes to this port now fail, so the orchestrator sees it.
            Log.Stopped(logger, e);
        }
    }

    private void Answer(Socket connection, byte[] buffer)
    {
        connection.ReceiveTimeout = (int)ReadTimeout.TotalMilliseconds;
        connection.SendTimeout = (int)ReadTimeout.TotalMilliseconds;
        connection.NoDelay = true;
        var length = 0;
        int end;
        while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == buffer.Length)
            {
                Send(connection, 431, "request header too large\n", head: false);
                return;
            }

            var read = connection.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (read == 0)
            {
                return;
            }

            length += read;
        }

        var requestLine = buffer.AsSpan(0, buffer.AsSpan(0, end + 2).IndexOf("\r\n"u8));
        var parts = Encoding.ASCII.GetString(requestLine).Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            Send(connection, 400, "bad request\n", head: false);
            return;
        }

        var head = parts[0] == "HEAD";
        if (parts[0] != "GET" && !head)
        {
            Send(connection, 405, "only GET and HEAD\n", head: false);
            return;
        }

        var path = parts[1].Split('?', 2)[0];
        var (status, text) = path switch
        {
            "/healthz" => Probes.Health(host),
            "/readyz" => Probes.Readiness(host),
            _ => (404, "this port answers /healthz and /readyz\n"),
        };
        Send(connection, status, text, head);
    }

    private static void Send(Socket connection, int status, string text, bool head)
    {
        var body = Encoding.UTF8.GetBytes(text);
        var reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", 405 => "Method Not Allowed", 431 => "Request Header Fields Too Large", _ => "Service Unavailable" };
        var header = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
        connection.Send(header);
        if (!head)
        {
            connection.Send(body);
        }

        connection.Shutdown(SocketShutdown.Send);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Health probes listening on: {Address} (/healthz, /readyz)")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(2, LogLevel.Warning, "The health probe listener could not accept a connection: {Error}")]
        public static partial void AcceptFailed(ILogger logger, SocketError error);

        [LoggerMessage(3, LogLevel.Critical, "The health probe listener stopped; probes to its port fail from now on")]
        public static partial void Stopped(ILogger logger, Exception exception);
    }
}

/// <summary>What <c>/healthz</c> and <c>/readyz</c> answer, on the API's port and on the probe port alike.</summary>
internal static class Probes
{
    /// <summary>Alive unless a loop of the node has faulted; a node still replaying its log is alive (<c>starting</c>).</summary>
    public static (int Status, string Text) Health(RegistryNodeHost host) =>
        !host.TryGetNode(out var node) ? (200, "starting\n")
        : node.Fault is { } fault ? (503, $"unhealthy: {fault}\n")
        : (200, "ok\n");

    /// <summary>Ready to take requests: started, caught up with its log, no loop faulted.</summary>
    public static (int Status, string Text) Readiness(RegistryNodeHost host) =>
        !host.TryGetNode(out var node) ? (503, "starting\n")
        : node.Fault is { } fault ? (503, $"unhealthy: {fault}\n")
        : node.IsReady ? (200, "ready\n")
        : (503, "catching up\n");
}
