using System.Security.Cryptography.X509Certificates;
using Roster.Client.Sources;

namespace Roster.Client.Etcd;

/// <summary>
/// Reads <c>etcd://</c> targets (<see cref="EtcdTarget"/>): the instances go-zero registers in etcd, one leased key per
/// instance under the service's key, whose value is <c>host:port</c>. Each instance's id is its <c>host:port</c> (two
/// keys with the same value are one endpoint, as go-zero's subscriber counts them). Add it to
/// <see cref="RosterDiscoveryOptions.SourceProviders"/>, or call <c>AddEtcdSources()</c> on the host's Roster builder.
/// gRPC to the members, over TLS when <see cref="UseTls"/> (or a certificate) is set, with etcd's user authentication
/// when <see cref="Username"/> is.
/// </summary>
public sealed class EtcdSourceProvider : IEndpointSourceProvider
{
    /// <inheritdoc/>
    public string Scheme => EtcdTarget.Scheme;

    /// <summary>
    /// How long one call to an etcd member (a read, or opening a watch) may take before the next member is tried.
    /// Default: 5 s.
    /// </summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A connection to a member that answers no HTTP/2 ping for this long is taken as dead (a member that vanished
    /// without closing its connections): the watch moves to the next member. Default: 10 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The etcd user to authenticate as, when the cluster has authentication enabled (go-zero's <c>User</c>); the user
    /// needs read on the services' keys. Default: none (no authentication).
    /// </summary>
    public string? Username { get; init; }

    /// <summary>The etcd user's password (go-zero's <c>Pass</c>).</summary>
    public string? Password { get; init; }

    /// <summary>
    /// Connect to the members over TLS. On when <see cref="TrustedCertificates"/> or <see cref="ClientCertificate"/> is
    /// given; set it alone to trust the members' certificates through the system's store. Default: off.
    /// </summary>
    public bool UseTls { get; init; }

    /// <summary>
    /// The CA certificates the members' certificates must chain to, instead of the system's store (go-zero's
    /// <c>CACertFile</c>). Default: none.
    /// </summary>
    public X509Certificate2Collection? TrustedCertificates { get; init; }

    /// <summary>
    /// The certificate, with its private key, shown to members that ask for one (etcd's <c>--client-cert-auth</c>;
    /// go-zero's <c>CertFile</c> and <c>CertKeyFile</c>). Default: none.
    /// </summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Whether members are reached over TLS.</summary>
    internal bool Tls => UseTls || TrustedCertificates is not null || ClientCertificate is not null;

    /// <summary>The longest pause between attempts while no member can be reached. Default: 2 s.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <inheritdoc/>
    public string? Check(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        EtcdTarget.Parse(target, out var error);
        return error;
    }

    /// <inheritdoc/>
    public async Task FollowAsync(string target, EndpointSourceFeed feed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(feed);
        var parsed = EtcdTarget.Parse(target, out var error) ?? throw new ArgumentException(error, nameof(target));
        using var follower = new EtcdFollower(parsed, feed, this);
        await follower.RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
