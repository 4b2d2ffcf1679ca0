using System.Net;
using System.Net.Sockets;

namespace Roster.Testing;

/// <summary>Ports for servers that tests start on loopback, known before the server starts (to restart it at the same address).</summary>
public static class LoopbackPorts
{
    /// <summary>A port nobody listens on now at <paramref name="address"/> (127.0.0.1 unless given).</summary>
    public static int Free(IPAddress? address = null)
    {
        using var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
