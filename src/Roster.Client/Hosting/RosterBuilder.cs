using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Roster.Client.Discovery;
using Roster.Client.Hosting;

namespace Roster.Client;

/// <summary>Further Roster features for a host, after <see cref="RosterServiceCollectionExtensions.AddRoster(IServiceCollection, Action{RosterClientOptions})"/>.</summary>
public sealed class RosterBuilder
{
    private readonly IConfiguration? _configuration;

    internal RosterBuilder(IServiceCollection services, IConfiguration? configuration)
    {
        Services = services;
        _configuration = configuration;
    }

    /// <summary>The host's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Registers this process as an instance while the host runs; see <see cref="RegistrationAgent"/>. The
    /// settings come from the <c>Registration</c> section of the configuration given to <c>AddRoster</c>
    /// (when one was), then from <paramref name="configure"/>.
    /// </summary>
    public RosterBuilder AddRegistration(Action<RosterRegistrationOptions>? configure = null)
    {
        Configure("Registration", configure);
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
    /// that <c>AddHttpClient(...).AddRosterDiscovery()</c> uses. The settings come from the <c>Discovery</c>
    /// section of the configuration given to <c>AddRoster</c> (when one was), then from <paramref name="configure"/>.
    /// When the configuration reloads, <see cref="RosterDiscoveryOptions.LoadBalancing"/>,
    /// <see cref="RosterDiscoveryOptions.MaxAttemptsPerRequest"/> and <see cref="RosterDiscoveryOptions.Sources"/> follow
    /// it; the other settings are read once.
    /// Calling it again configures the options again but adds no second discovery: the first stays the one shared.
    /// </summary>
    public RosterBuilder AddDiscovery(Action<RosterDiscoveryOptions>? configure = null)
    {
        Configure("Discovery", configure);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RosterDiscoveryStartupCheck>());
        Services.TryAddSingleton(provider => new DiscoverySettings(
            provider.GetRequiredService<IOptionsMonitor<RosterDiscoveryOptions>>(),
            provider.GetService<TimeProvider>(),
            provider.GetService<ILoggerFactory>()?.CreateLogger<RosterDiscovery>() ?? NullLogger<RosterDiscovery>.Instance));
        Services.TryAddSingleton(provider =>
        {
            var settings = provider.GetRequiredService<DiscoverySettings>();
            var discovery = new RosterDiscovery(
                provider.GetRequiredService<RosterClient>(),
                settings.Current,
                provider.GetService<TimeProvider>(),
                provider.GetService<ILoggerFactory>()?.CreateLogger<RosterDiscovery>());
            settings.SourcesChanged += discovery.ApplySources;
            return discovery;
        });
        Services.TryAddSingleton(provider => provider.GetRequiredService<DiscoverySettings>().Balancer);
        return this;
    }

    private void Configure<TOptions>(string section, Action<TOptions>? configure)
        where TOptions : class
    {
        if (_configuration is not null)
        {
            Services.Configure<TOptions>(_configuration.GetSection(section));
        }

        if (configure is not null)
        {
            Services.Configure(configure);
        }
    }
}
