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
        return new RosterBuilder(services);
    }
}
