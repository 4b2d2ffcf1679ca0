namespace Roster.Client;

/// <summary>Where the registry is and how long to try. Every default is stated on its property.</summary>
public sealed class RosterClientOptions
{
    /// <summary>The registry nodes, tried in order; a node that fails is skipped until the others have been tried. At least one.</summary>
    public IList<Uri> Servers { get; } = [];

    /// <summary>A bearer token sent with every call, when the registry requires one. Default: none.</summary>
    public string? Token { get; set; }

    /// <summary>The longest one attempt on one node may take. Default: 5 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest a whole call may take, across every attempt and wait. Default: 15 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The first wait after every node has failed once; it doubles per round up to <see cref="MaxBackoff"/>. Default: 100 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The cap on the wait between rounds. Default: 5 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A PEM file of the CA certificates that issue the registry's HTTPS certificates, when they are not trusted
    /// by the machine (a private CA). Only these are then trusted for the registry; the name must still match. Default:
    /// the machine's trust store.</summary>
    public string? CaFile { get; set; }

    /// <summary>A PEM client certificate to present to registries that require one (with <see cref="ClientKeyFile"/>).
    /// Default: none.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>The PEM private key of <see cref="ClientCertificateFile"/>.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>Throws when the options cannot work, naming the setting.</summary>
    public void Validate()
    {
        if (Servers.Count == 0)
        {
            throw new ArgumentException("RosterClientOptions.Servers needs at least one registry address.", nameof(Servers));
        }

        foreach (var server in Servers)
        {
            if (server is not { IsAbsoluteUri: true } || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"RosterClientOptions.Servers: '{server}' is not an absolute http or https address.", nameof(Servers));
            }
        }

        if (CaFile is { Length: > 0 } && !File.Exists(CaFile))
        {
            throw new ArgumentException($"RosterClientOptions.CaFile: '{CaFile}' does not exist.", nameof(CaFile));
        }

        if ((ClientCertificateFile is { Length: > 0 }) != (ClientKeyFile is { Length: > 0 }))
        {
            throw new ArgumentException("RosterClientOptions: give ClientCertificateFile and ClientKeyFile together.", nameof(ClientKeyFile));
        }

        if (AttemptTimeout <= TimeSpan.Zero || CallTimeout <= TimeSpan.Zero || InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ArgumentException("RosterClientOptions: the timeouts and InitialBackoff must be positive, and MaxBackoff at least InitialBackoff.");
        }
    }
}
