using Microsoft.Extensions.DependencyInjection;
using Roster.Client.Etcd;

namespace Roster.Client;

/// <summary>Adds etcd:// sources to Roster's discovery.</summary>
public static class RosterEtcdExtensions
{
    /// <summary>
    /// Lets <c>Roster:Discovery:Sources</c> name <c>etcd://host:port[,host:port...]/key</c> targets: services that go-zero
    /// registers in etcd, called by name like the registry's (<see cref="EtcdSourceProvider"/>).
    /// </summary>
    public static RosterBuilder AddEtcdSources(this RosterBuilder builder, EtcdSourceProvider? provider = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRosterEtcdSources(provider);
        return builder;
    }

    /// <summary>
    /// The same for a host whose Roster discovery was added another way (such as Roster.Client.ServiceDiscovery's
    /// <c>AddRosterServiceEndpointProvider(section)</c>).
    /// </summary>
    public static IServiceCollection AddRosterEtcdSources(this IServiceCollection services, EtcdSourceProvider? provider = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var etcd = provider ?? new EtcdSourceProvider();
        services.Configure<RosterDiscoveryOptions>(options => options.AddEtcdSources(etcd));
        return services;
    }

    /// <summary>Lets <see cref="RosterDiscoveryOptions.Sources"/> name <c>etcd://</c> targets (once, however often it is called).</summary>
    public static RosterDiscoveryOptions AddEtcdSources(this RosterDiscoveryOptions options, EtcdSourceProvider? provider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.SourceProviders.Any(p => p is EtcdSourceProvider))
        {
            options.SourceProviders.Add(provider ?? new EtcdSourceProvider());
        }

        return options;
    }
}
