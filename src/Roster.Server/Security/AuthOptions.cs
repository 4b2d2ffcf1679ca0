namespace Roster.Server.Security;

/// <summary>One bearer token and what it may do.</summary>
public sealed class AccessToken
{
    /// <summary>The token itself. Prefer <see cref="TokenFile"/> or an environment variable
    /// (<c>ROSTER__AUTH__TOKENS__0__TOKEN</c>): a command-line argument is visible to every local user in
    /// <c>/proc/PID/cmdline</c>.</summary>
    public string Token { get; set; } = string.Empty;

    /// <summary>A file whose content (trimmed) is the token; give either this or <see cref="Token"/>.</summary>
    public string? TokenFile { get; set; }

    /// <summary>Who the token stands for (a team, a deployment tool), as the audit names the changes made with it; the
    /// token's place in the list (<c>token 0</c>, ...) when not given. Never the token itself.</summary>
    public string? Name { get; set; }

    /// <summary>Namespaces it applies to; <c>*</c> for all.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>True to allow changes (register, renew, deregister, operator state); reads are always allowed.</summary>
    public bool Write { get; set; }

    /// <summary>True to allow the debug dump (<c>GET /api/v1/debug</c>: the node's loops, queues, configuration without
    /// secrets and last log lines). Needs <c>*</c> in <see cref="Namespaces"/>.</summary>
    public bool Admin { get; set; }

    /// <summary>The secret, from <see cref="Token"/> or <see cref="TokenFile"/>; empty when neither gives one.</summary>
    internal string ReadSecret() =>
        TokenFile is { Length: > 0 } file ? File.ReadAllText(file).Trim() : Token.Trim();
}

public sealed class AuthOptions
{
    /// <summary>When empty (the default), the API is open: run it on a private network or behind a proxy.</summary>
    public List<AccessToken> Tokens { get; set; } = [];
}
