using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.ServiceDiscovery;
using Roster.Client;
using Roster.Client.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Roster to Microsoft.Extensions.ServiceDiscovery.</summary>
public static class RosterServiceDiscoveryExtensions
{
    /// <summary>
    /// Resolves service names through Roster: after <c>services.AddServiceDiscovery().AddRosterServiceEndpointProvider()</c>,
    /// any <c>HttpClient</c> with <c>.AddServiceDiscovery()</c> (and YARP's service discovery destination resolver)
    /// sends <c>http://orders</c> and <c>https+http://orders</c> to instances of <c>orders</c> that take requests,
    /// following Roster's pushed changes without polling. A <c>Services:orders</c> configuration section still
    /// overrides the registry, and IP literals and <c>localhost</c> pass through. Needs
    /// <c>AddRoster(...).AddDiscovery()</c>, or use the overload that takes Roster's configuration section.
    /// </summary>
    public static IServiceCollection AddRosterServiceEndpointProvider(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddServiceDiscoveryCore();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointProviderFactory, RosterServiceEndpointProviderFactory>());
        return services;
    }

    /// <summary>
    /// Adds Roster's client and discovery configured from <paramref name="rosterSection"/> (usually
    /// <c>builder.Configuration.GetSection("Roster")</c>: <c>Servers</c>, <c>Token</c>, <c>Discovery</c>), then
    /// resolves service names through it as <see cref="AddRosterServiceEndpointProvider(IServiceCollection)"/> does.
    /// </summary>
    public static IServiceCollection AddRosterServiceEndpointProvider(this IServiceCollection services, IConfiguration rosterSection)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(rosterSection);
        services.AddRoster(rosterSection).AddDiscovery();
        return services.AddRosterServiceEndpointProvider();
    }
}
