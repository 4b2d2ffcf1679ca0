using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Roster.Testing;

/// <summary>A private CA and the certificates it issues, made in memory (ECDSA P-256), and written as PEM files.</summary>
public static class TestCertificates
{
    public static X509Certificate2 NewCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>A certificate <paramref name="ca"/> issues to <paramref name="subject"/>: for a server (named 127.0.0.1 and
    /// localhost) or for a client; a server's can serve as a client's too with <paramref name="alsoClientAuth"/> (etcd's
    /// gateway connects to its own member with the member's certificate).</summary>
    public static (X509Certificate2 Certificate, ECDsa Key) Issue(X509Certificate2 ca, string subject, bool serverAuth, bool alsoClientAuth = false)
    {
        ArgumentNullException.ThrowIfNull(ca);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        var usages = new OidCollection { new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") };
        if (serverAuth && alsoClientAuth)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(8);
        using var caKey = ca.GetECDsaPrivateKey()!;
        var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddMinutes(-4), DateTimeOffset.UtcNow.AddHours(12), serial);
        return (issued, key);
    }

    /// <summary>Writes <paramref name="certificate"/> as <c>{name}.pem</c> in <paramref name="directory"/>; returns the path.</summary>
    public static string Write(string directory, string name, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var path = Path.Combine(directory, name + ".pem");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    /// <summary>Writes an issued certificate and its key as <c>{name}.pem</c> and <c>{name}.key</c> (PKCS#8).</summary>
    public static (string CertificateFile, string KeyFile) Write(string directory, string name, (X509Certificate2 Certificate, ECDsa Key) issued)
    {
        var key = Path.Combine(directory, name + ".key");
        File.WriteAllText(key, issued.Key.ExportPkcs8PrivateKeyPem());
        return (Write(directory, name, issued.Certificate), key);
    }
}
