using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Roster.Client;

/// <summary>Adds Roster to a host's services.</summary>
public static class RosterServiceCollectionExtensions
{
    /// <summary>Adds a shared <see cref="RosterClient"/> configured by <paramref name="configure"/>.</summary>
    public static RosterBuilder AddRoster(this IServiceCollection services, Action<RosterClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        services.TryAddSingleton(provider => new RosterClient(
            provider.GetRequiredService<IOptions<RosterClientOptions>>().Value, handler: null, provider.GetService<TimeProvider>()));
        services.TryAddSingleton<RosterProviderState>();
        return new RosterBuilder(services);
    }

    /// <summary>
    /// Sends this client's requests for <c>http://{service}/...</c> to endpoints of that service, found
    /// through the <see cref="RosterDiscovery"/> added by <see cref="RosterBuilder.AddDiscovery"/>: see
    /// <see cref="RosterDiscoveryOptions.LoadBalancing"/> and <see cref="RosterDiscoveryOptions.MaxAttemptsPerRequest"/>.
    /// </summary>
    public static IHttpClientBuilder AddRosterDiscovery(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHttpMessageHandler(provider => new Http.RosterDiscoveryHandler(
            provider.GetRequiredService<RosterDiscovery>(),
            provider.GetRequiredService<RosterLoadBalancer>(),
            provider.GetRequiredService<IOptions<RosterDiscoveryOptions>>().Value.MaxAttemptsPerRequest));
    }
}
