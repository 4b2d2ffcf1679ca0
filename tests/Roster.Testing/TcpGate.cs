using System.Net;
using System.Net.Sockets;

namespace Roster.Testing;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of one server, which a test can close (every connection through it reset, new
/// ones refused) and open again on the same port: a network cut between a client and its server, without touching the
/// server.
/// </summary>
public sealed class TcpGate : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly List<Socket> _connections = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _open;
    private Task _accepting = Task.CompletedTask;

    public TcpGate(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        Port = LoopbackPorts.Free();
    }

    public int Port { get; }

    public void Open()
    {
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _open = new CancellationTokenSource();
        _accepting = AcceptAsync(_listener, _open.Token);
    }

    /// <summary>Stops accepting and resets every connection through the gate.</summary>
    public async Task CloseAsync()
    {
        if (_open is null)
        {
            return;
        }

        await _open.CancelAsync();
        _listener!.Stop();
        await _accepting;
        lock (_connections)
        {
            foreach (var socket in _connections)
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0); // reset, not a graceful close
                }
                catch (ObjectDisposedException)
                {
                    // already closed by its other end
                }

                socket.Dispose();
            }

            _connections.Clear();
        }

        _open.Dispose();
        _open = null;
    }

    public async ValueTask DisposeAsync() => await CloseAsync();

    private async Task AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(_target, cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_connections)
            {
                _connections.Add(client);
                _connections.Add(server);
            }

            _ = PumpAsync(client, server, cancellationToken);
            _ = PumpAsync(server, client, cancellationToken);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
