using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using RabbitMQ.Client;

namespace Roster.Cluster;

/// <summary>
/// TLS to the brokers: an <c>amqps://</c> broker address is reached over TLS, checked against the machine's trust store
/// or only the CAs of <see cref="BusOptions.CaFile"/>, presenting <see cref="BusOptions.ClientCertificateFile"/> when
/// given; an <c>amqp://</c> one in the clear. The files are read once per connection, so a renewed certificate is
/// used from the next reconnection on.
/// </summary>
public static class BusTls
{
    internal static SslOption For(Uri broker, BusOptions options)
    {
        if (broker.Scheme != "amqps")
        {
            return new SslOption { Enabled = false };
        }

        var ssl = new SslOption { Enabled = true, ServerName = broker.Host };
        if (options.CaFile is { Length: > 0 } caFile)
        {
            var cas = new X509Certificate2Collection();
            cas.ImportFromPemFile(caFile);
            ssl.CertificateValidationCallback = (_, certificate, _, errors) => IssuedBy(certificate, errors, cas);
        }

        if (options.ClientCertificateFile is { Length: > 0 } certificateFile && options.ClientKeyFile is { Length: > 0 } keyFile)
        {
            ssl.Certs = [X509Certificate2.CreateFromPemFile(certificateFile, keyFile)];
        }

        return ssl;
    }

    /// <summary>Throws, naming the setting, when the TLS settings cannot work: a file that is missing, a certificate
    /// without its key.</summary>
    public static void Validate(BusOptions options)
    {
        foreach (var (setting, file) in (ReadOnlySpan<(string, string?)>)[("CaFile", options.CaFile), ("ClientCertificateFile", options.ClientCertificateFile), ("ClientKeyFile", options.ClientKeyFile)])
        {
            if (file is { Length: > 0 } && !File.Exists(file))
            {
                throw new InvalidOperationException($"Roster:Cluster:{setting}: '{file}' does not exist.");
            }
        }

        if ((options.ClientCertificateFile is { Length: > 0 }) != (options.ClientKeyFile is { Length: > 0 }))
        {
            throw new InvalidOperationException("Roster:Cluster: give ClientCertificateFile and ClientKeyFile together.");
        }
    }

    /// <summary>The broker's certificate chains to one of <paramref name="cas"/> and nothing else is wrong with it (its
    /// name matches the broker's).</summary>
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
