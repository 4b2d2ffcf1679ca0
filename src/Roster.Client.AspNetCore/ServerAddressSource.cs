using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Roster.Client.AspNetCore;

/// <summary>
/// The address the web server listens on, read from its <see cref="IServerAddressesFeature"/> once it has
/// started (so port 0 is resolved). A wildcard host (<c>0.0.0.0</c>, <c>[::]</c>, <c>*</c>, <c>+</c>) is
/// replaced by this machine's first IPv4 address that is up and not loopback, or by loopback when it has none.
/// </summary>
internal sealed class ServerAddressSource(IServer server) : IRosterAddressSource
{
    public (string Address, int Port, string Scheme)? GetAddress()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];

        // Prefer plain http: consumers inside the cluster need no TLS to reach a sibling.
        foreach (var text in addresses.OrderBy(a => a.StartsWith("https", StringComparison.OrdinalIgnoreCase)))
        {
            var normalized = text.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (Uri.TryCreate(normalized, UriKind.Absolute, out var uri))
            {
                var host = uri.Host.Trim('[', ']');
                var isWildcard = host is "0.0.0.0" or "::" || (IPAddress.TryParse(host, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)));
                return (isWildcard ? MachineAddress() : host, uri.Port, uri.Scheme);
            }
        }

        return null;
    }

    private static string MachineAddress()
    {
        foreach (var network in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (network.OperationalStatus != OperationalStatus.Up || network.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in network.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address))
                {
                    return unicast.Address.ToString();
                }
            }
        }

        return IPAddress.Loopback.ToString();
    }
}
