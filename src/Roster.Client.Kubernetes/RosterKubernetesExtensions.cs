using Microsoft.Extensions.DependencyInjection;
using Roster.Client.Kubernetes;

namespace Roster.Client;

/// <summary>Adds k8s:// sources to Roster's discovery.</summary>
public static class RosterKubernetesExtensions
{
    /// <summary>
    /// Lets <c>Roster:Discovery:Sources</c> name <c>k8s://namespace/service[:port]</c> targets: a Kubernetes Service's
    /// endpoints, called by name like the registry's (<see cref="KubernetesSourceProvider"/>).
    /// </summary>
    public static RosterBuilder AddKubernetesSources(this RosterBuilder builder, KubernetesSourceProvider? provider = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRosterKubernetesSources(provider);
        return builder;
    }

    /// <summary>The same for a host whose Roster discovery was added another way (such as <c>AddRosterServiceEndpointProvider(section)</c>).</summary>
    public static IServiceCollection AddRosterKubernetesSources(this IServiceCollection services, KubernetesSourceProvider? provider = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var kubernetes = provider ?? new KubernetesSourceProvider();
        services.Configure<RosterDiscoveryOptions>(options => options.AddKubernetesSources(kubernetes));
        return services;
    }

    /// <summary>Lets <see cref="RosterDiscoveryOptions.Sources"/> name <c>k8s://</c> targets (once, however often it is called).</summary>
    public static RosterDiscoveryOptions AddKubernetesSources(this RosterDiscoveryOptions options, KubernetesSourceProvider? provider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.SourceProviders.Any(p => p is KubernetesSourceProvider))
        {
            options.SourceProviders.Add(provider ?? new KubernetesSourceProvider());
        }

        return options;
    }
}
