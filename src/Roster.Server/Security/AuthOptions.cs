namespace Roster.Server.Security;

/// <summary>One bearer token and what it may do.</summary>
public sealed class AccessToken
{
    public string Token { get; set; } = string.Empty;

    /// <summary>Namespaces it applies to; <c>*</c> for all.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>True to allow changes (register, renew, deregister, operator state); reads are always allowed.</summary>
    public bool Write { get; set; }
}

public sealed class AuthOptions
{
    /// <summary>When empty (the default), the API is open: run it on a private network or behind a proxy.</summary>
    public List<AccessToken> Tokens { get; set; } = [];
}
