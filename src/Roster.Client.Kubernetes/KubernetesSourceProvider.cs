using k8s;
using Roster.Client.Sources;

namespace Roster.Client.Kubernetes;

/// <summary>
/// Reads <c>k8s://namespace/service[:port]</c> targets (<see cref="KubernetesTarget"/>): the Service's
/// <c>discovery.k8s.io/v1</c> EndpointSlices, listed then watched through the official Kubernetes client. A ready endpoint
/// takes requests; a terminating one that still serves is listed drained (no new requests, its calls in flight finish); one
/// that is neither ready nor serving is left out. Each endpoint's id is <c>address:port</c>, its zone the slice's zone
/// (so zone preference works), its pod and node in its metadata (<c>k8s-pod</c>, <c>k8s-node</c>). Add it to
/// <see cref="RosterDiscoveryOptions.SourceProviders"/>, or call <c>AddKubernetesSources()</c> on the host's Roster builder.
/// </summary>
public sealed class KubernetesSourceProvider : IEndpointSourceProvider
{
    /// <inheritdoc/>
    public string Scheme => KubernetesTarget.Scheme;

    /// <summary>
    /// How to reach the API server. Default: <see cref="KubernetesClientConfiguration.BuildDefaultConfig"/>, which reads
    /// the kubeconfig (<c>KUBECONFIG</c> or <c>~/.kube/config</c>) and, inside a pod, the service account's token.
    /// </summary>
    public Func<KubernetesClientConfiguration> Configuration { get; init; } = KubernetesClientConfiguration.BuildDefaultConfig;

    /// <summary>How long a list may take before it is tried again. Default: 10 s.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the API server is asked to keep one watch open (it then ends it, and the watch resumes from the last
    /// resourceVersion). A watch that outlives it by 30 s is taken as dead and ended here. Default: 5 min.
    /// </summary>
    public TimeSpan WatchDuration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest pause between attempts while the API server cannot be reached. Default: 5 s.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public string? Check(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        KubernetesTarget.Parse(target, out var error);
        return error;
    }

    /// <inheritdoc/>
    public async Task FollowAsync(string target, EndpointSourceFeed feed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(feed);
        var parsed = KubernetesTarget.Parse(target, out var error) ?? throw new ArgumentException(error, nameof(target));
        var configuration = Configuration();
        configuration.HttpClientTimeout = Timeout.InfiniteTimeSpan; // watches stay open; every call here has its own deadline
        using var client = new k8s.Kubernetes(configuration);
        await new KubernetesFollower(parsed, feed, client, this).RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
