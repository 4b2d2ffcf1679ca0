using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace Roster.Client.ServiceDiscovery;

/// <summary>
/// Creates a <see cref="RosterServiceEndpointProvider"/> for every query whose service name can be a Roster
/// service; IP literals, <c>localhost</c> and names Roster cannot hold are left to the other providers
/// (the library's pass-through provider answers those).
/// </summary>
internal sealed class RosterServiceEndpointProviderFactory(
    RosterDiscovery discovery, IOptions<ServiceDiscoveryOptions> options, ILoggerFactory? loggers = null) : IServiceEndpointProviderFactory
{
    private readonly ILogger _logger = (ILogger?)loggers?.CreateLogger<RosterServiceEndpointProvider>() ?? NullLogger.Instance;

    public bool TryCreateProvider(ServiceEndpointQuery query, [NotNullWhen(true)] out IServiceEndpointProvider? provider)
    {
        provider = null;
        var service = query.ServiceName;
        if (!IsRosterService(service))
        {
            return false;
        }

        string[] schemes = [.. options.Value.ApplyAllowedSchemes(query.IncludedSchemes)];
        provider = new RosterServiceEndpointProvider(discovery, service, schemes, _logger);
        return true;
    }

    /// <summary>A name Roster can hold: not an IP literal, not <c>localhost</c>, and a valid service name.</summary>
    internal static bool IsRosterService(string name) =>
        !IPAddress.TryParse(name, out _)
        && !name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        && RosterDiscovery.IsServiceName(name);
}
