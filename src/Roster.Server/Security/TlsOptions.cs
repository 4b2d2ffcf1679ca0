using System.Security.Cryptography.X509Certificates;

namespace Roster.Server.Security;

/// <summary>
/// HTTPS for the node's API (<c>Roster:Tls</c>; <c>roster serve --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]</c>):
/// a PEM certificate (with its chain) and key; optionally, clients must present a certificate issued by the PEM CA
/// in <see cref="ClientCaFile"/>.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>The server's certificate, PEM (the chain may follow it in the same file).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The certificate's private key, PEM (unencrypted).</summary>
    public string? KeyFile { get; set; }

    /// <summary>When set, every client must present a certificate issued by this CA (PEM); others are refused during
    /// the TLS handshake.</summary>
    public string? ClientCaFile { get; set; }

    public bool Enabled => CertificateFile is { Length: > 0 };

    /// <summary>Reads the files, or says which setting is wrong (at start, never a key's content).</summary>
    internal (X509Certificate2 Certificate, X509Certificate2Collection? ClientCas) Load()
    {
        if (KeyFile is not { Length: > 0 })
        {
            throw new InvalidOperationException("Roster:Tls:KeyFile (--tls-key) is required with Roster:Tls:CertificateFile (--tls-cert).");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(CertificateFile!, KeyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"Roster:Tls:CertificateFile '{CertificateFile}' with Roster:Tls:KeyFile '{KeyFile}' cannot be used: {ex.Message}", ex);
        }

        if (ClientCaFile is not { Length: > 0 })
        {
            return (certificate, null);
        }

        var cas = new X509Certificate2Collection();
        try
        {
            cas.ImportFromPemFile(ClientCaFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"Roster:Tls:ClientCaFile '{ClientCaFile}' cannot be read: {ex.Message}", ex);
        }

        return cas.Count == 0
            ? throw new InvalidOperationException($"Roster:Tls:ClientCaFile '{ClientCaFile}' holds no certificate.")
            : (certificate, cas);
    }

    /// <summary>Whether <paramref name="client"/> was issued by one of <paramref name="cas"/> (and is valid now).</summary>
    internal static bool IssuedBy(X509Certificate2 client, X509Certificate2Collection cas)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        return chain.Build(client);
    }
}
