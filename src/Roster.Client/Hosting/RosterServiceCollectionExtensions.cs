using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Roster.Client;

/// <summary>Adds Roster to a host's services.</summary>
public static class RosterServiceCollectionExtensions
{
    /// <summary>
    /// Adds a shared <see cref="RosterClient"/> configured by <paramref name="configure"/>. Its options are checked
    /// when the host starts; calling this again configures the options again but adds no second client.
    /// </summary>
    public static RosterBuilder AddRoster(this IServiceCollection services, Action<RosterClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return AddClient(services, configuration: null);
    }

    /// <summary>
    /// Adds a shared <see cref="RosterClient"/> configured from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("Roster")</c>: <c>Servers</c>, <c>Token</c>, timeouts), then by
    /// <paramref name="configure"/> when given. Its <c>Registration</c> and <c>Discovery</c> sections configure
    /// <see cref="RosterBuilder.AddRegistration"/> and <see cref="RosterBuilder.AddDiscovery"/>.
    /// </summary>
    public static RosterBuilder AddRoster(this IServiceCollection services, IConfiguration configuration, Action<RosterClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<RosterClientOptions>(configuration);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return AddClient(services, configuration);
    }

    /// <summary>
    /// Sends this client's requests for <c>http://{service}/...</c> to endpoints of that service, found
    /// through the <see cref="RosterDiscovery"/> added by <see cref="RosterBuilder.AddDiscovery"/>: see
    /// <see cref="RosterDiscoveryOptions.LoadBalancing"/> and <see cref="RosterDiscoveryOptions.MaxAttemptsPerRequest"/>,
    /// both of which follow configuration reloads.
    /// </summary>
    public static IHttpClientBuilder AddRosterDiscovery(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHttpMessageHandler(provider => new Http.RosterDiscoveryHandler(
            provider.GetRequiredService<RosterDiscovery>(),
            provider.GetRequiredService<RosterLoadBalancer>(),
            provider.GetRequiredService<Discovery.DiscoverySettings>(),
            provider.GetService<ILoggerFactory>()?.CreateLogger<Http.RosterDiscoveryHandler>()));
    }

    private static RosterBuilder AddClient(IServiceCollection services, IConfiguration? configuration)
    {
        // Checked when the host starts, naming the setting; adding Roster twice adds nothing twice.
        services.AddOptions<RosterClientOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RosterClientOptions>, Hosting.RosterClientOptionsValidator>());
        services.TryAddSingleton(provider => new RosterClient(
            provider.GetRequiredService<IOptions<RosterClientOptions>>().Value, handler: null, provider.GetService<TimeProvider>()));
        services.TryAddSingleton<RosterProviderState>();
        return new RosterBuilder(services, configuration);
    }
}
