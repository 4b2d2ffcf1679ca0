using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Roster.Client.Connection;

/// <summary>
/// TLS to the registry as <see cref="RosterClientOptions"/> asks: the machine's trust store, or only the CAs of
/// <see cref="RosterClientOptions.CaFile"/> (a private CA); and a client certificate for registries that require one.
/// Used by the SDK and the CLI alike.
/// </summary>
public static class RegistryTls
{
    /// <summary>The handler the SDK's connections use.</summary>
    public static SocketsHttpHandler CreateHandler(RosterClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler { ConnectTimeout = options.AttemptTimeout };
        Configure(handler.SslOptions, options.CaFile, options.ClientCertificateFile, options.ClientKeyFile);
        return handler;
    }

    /// <summary>Trusts only the CAs in <paramref name="caFile"/> when given, and presents the client certificate when given.</summary>
    public static void Configure(SslClientAuthenticationOptions ssl, string? caFile, string? clientCertificateFile, string? clientKeyFile)
    {
        ArgumentNullException.ThrowIfNull(ssl);
        if (caFile is { Length: > 0 })
        {
            var cas = new X509Certificate2Collection();
            cas.ImportFromPemFile(caFile);
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) => IssuedBy(certificate, errors, cas);
        }

        if (clientCertificateFile is { Length: > 0 } && clientKeyFile is { Length: > 0 })
        {
            ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(clientCertificateFile, clientKeyFile)];
        }
    }

    /// <summary>The server's certificate chains to one of <paramref name="cas"/>, and nothing else is wrong with it (its
    /// name matches the address).</summary>
    private static bool IssuedBy(X509Certificate? presented, SslPolicyErrors errors, X509Certificate2Collection cas)
    {
        if (presented is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData()));
    }
}
