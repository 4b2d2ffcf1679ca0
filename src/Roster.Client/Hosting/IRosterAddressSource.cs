namespace Roster.Client;

/// <summary>
/// Where consumers can reach this process, when <see cref="RosterRegistrationOptions.Address"/> and
/// <see cref="RosterRegistrationOptions.Port"/> are not set: asked once the application has started,
/// so a web server's bound addresses are known. <c>Roster.Client.AspNetCore</c> provides one that reads them.
/// </summary>
public interface IRosterAddressSource
{
    /// <summary>The address, port and scheme to register, or null when this source does not know.</summary>
    (string Address, int Port, string Scheme)? GetAddress();
}
