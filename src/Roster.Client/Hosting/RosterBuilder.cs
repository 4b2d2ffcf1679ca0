using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Roster.Client.Hosting;

namespace Roster.Client;

/// <summary>Further Roster features for a host, after <see cref="RosterServiceCollectionExtensions.AddRoster"/>.</summary>
public sealed class RosterBuilder
{
    internal RosterBuilder(IServiceCollection services) => Services = services;

    /// <summary>The host's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers this process as an instance while the host runs; see <see cref="RegistrationAgent"/>.</summary>
    public RosterBuilder AddRegistration(Action<RosterRegistrationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        Services.AddHostedService(provider => new RegistrationHostedService(
            provider.GetRequiredService<RosterClient>(),
            provider.GetRequiredService<IOptions<RosterRegistrationOptions>>(),
            provider.GetRequiredService<IHostApplicationLifetime>(),
            provider.GetRequiredService<RosterProviderState>(),
            provider.GetServices<IRosterAddressSource>(),
            provider.GetService<TimeProvider>()));
        return this;
    }

    /// <summary>
    /// Adds a shared <see cref="RosterDiscovery"/> for one namespace and the <see cref="RosterLoadBalancer"/>
    /// that <c>AddHttpClient(...).AddRosterDiscovery()</c> uses.
    /// </summary>
    public RosterBuilder AddDiscovery(Action<RosterDiscoveryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        Services.AddSingleton(provider => new RosterDiscovery(
            provider.GetRequiredService<RosterClient>(),
            provider.GetRequiredService<IOptions<RosterDiscoveryOptions>>().Value,
            provider.GetService<TimeProvider>()));
        Services.AddSingleton(provider => new RosterLoadBalancer(
            provider.GetRequiredService<IOptions<RosterDiscoveryOptions>>().Value.LoadBalancing,
            provider.GetService<TimeProvider>()));
        return this;
    }
}
