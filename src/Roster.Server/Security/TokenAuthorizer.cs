using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;
using Roster.Core.Log;
using Roster.Server.Api;

namespace Roster.Server.Security;

/// <summary>
/// Checks <c>Authorization: Bearer ...</c> against the configured tokens: 401 (with
/// <c>WWW-Authenticate: Bearer</c>) when missing or unknown, 403 when the token has no right for that
/// namespace or for writing. Handlers authenticate before they read a body, so a caller without a token
/// costs the node nothing. A presented token is compared in constant time: its SHA-256 against every configured
/// token's, with <see cref="CryptographicOperations.FixedTimeEquals"/> and no early exit, so how long the answer takes
/// says nothing about how much of a token an attacker guessed right.
/// </summary>
internal sealed partial class TokenAuthorizer(IOptions<AuthOptions> options, ILogger<TokenAuthorizer> logger)
{
    // Duplicates were refused at start (AuthOptionsValidator). Only the hashes are kept, with the name the audit gives
    // each token's changes.
    private readonly (byte[] Hash, AccessToken Token, string Principal)[] _tokens =
        options.Value.Tokens.Select((t, i) => (Secret: t.ReadSecret(), Token: t, Principal: t.Name ?? $"token {i}")).Where(t => t.Secret.Length > 0)
            .Select(t => (SHA256.HashData(Encoding.UTF8.GetBytes(t.Secret)), t.Token, t.Principal)).ToArray();

    /// <summary>
    /// Who makes an admitted change, for the audit: <paramref name="principal"/> and the client's IP address.
    /// </summary>
    private static WriteAuthor AuthorFor(HttpContext context, string principal)
    {
        // A client sends its writes over a kept-alive connection: its author is made once per connection and principal,
        // not once per write. Only over HTTP/1.x, whose requests on one connection come one after another: HTTP/2 runs
        // a connection's requests at once, and its items are one dictionary they would all write.
        var connection = HttpProtocol.IsHttp11(context.Request.Protocol) ? context.Features.Get<IConnectionItemsFeature>()?.Items : null;
        if (connection?.TryGetValue(typeof(WriteAuthor), out var cached) == true && cached is WriteAuthor last && ReferenceEquals(last.Principal, principal))
        {
            return last;
        }

        var address = context.Connection.RemoteIpAddress is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : string.Empty;
        var author = new WriteAuthor(principal, address);
        if (connection is not null)
        {
            connection[typeof(WriteAuthor)] = author;
        }

        return author;
    }

    public bool Enabled => _tokens.Length > 0;

    /// <summary>Says at start, once, that anyone who reaches the node may change the registry when no token is configured.</summary>
    public void WarnWhenOpen()
    {
        if (!Enabled)
        {
            LogOpenApi(logger);
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning,
        Message = "No token is configured (Roster:Auth:Tokens): the API is open, and anyone who can reach this node can change the registry. Serve it on a private network or configure tokens.")]
    private static partial void LogOpenApi(ILogger logger);

    /// <summary>The configured token whose secret is <paramref name="presented"/>, compared in constant time.</summary>
    private (AccessToken Token, string Principal)? Find(string? presented)
    {
        if (presented is null)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        (AccessToken, string)? found = null;
        foreach (var (known, token, principal) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, known))
            {
                found = (token, principal);
            }
        }

        return found;
    }

    /// <summary>The token after <c>Bearer </c> in the request's one Authorization header, or null.</summary>
    private static string? PresentedToken(HttpContext context)
    {
        var header = context.Request.Headers.Authorization;
        var value = header.Count == 1 ? header[0] ?? string.Empty : string.Empty;
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value["Bearer ".Length..].Trim() : null;
    }

    /// <summary>
    /// For listings: which namespaces the caller may read (null means all), or a problem when the caller
    /// has no valid token.
    /// </summary>
    public (Func<string, bool>? CanRead, IResult? Problem) ReadableNamespaces(HttpContext context)
    {
        var (token, problem) = Authenticate(context);
        if (problem is not null)
        {
            return (null, problem);
        }

        return token is null || token.Namespaces.Contains("*") ? (null, null) : (ns => token.Namespaces.Contains(ns), null);
    }

    /// <summary>Who is calling: the token (null when auth is off), or a 401 problem.</summary>
    public (AccessToken? Token, IResult? Problem) Authenticate(HttpContext context)
    {
        var (known, problem) = Identify(context);
        return (known?.Token, problem);
    }

    /// <summary>The caller's token and the principal it stands for (null when auth is off), or a 401 problem.</summary>
    private ((AccessToken Token, string Principal)? Known, IResult? Problem) Identify(HttpContext context)
    {
        if (!Enabled)
        {
            return (null, null);
        }

        var presented = PresentedToken(context);
        if (presented is null)
        {
            return (null, Unauthorized("A bearer token is required (Authorization: Bearer <token>).", "Bearer"));
        }

        return Find(presented) is { } known
            ? (known, null)
            : (null, Unauthorized("The bearer token is not known to this registry.", "Bearer error=\"invalid_token\""));
    }

    /// <summary>For the debug dump: 401 without a valid token, 403 unless the token is an admin token (with tokens on).</summary>
    public IResult? AdmitAdmin(HttpContext context)
    {
        var (token, problem) = Authenticate(context);
        return problem ?? (token is null || (token.Admin && token.Namespaces.Contains("*"))
            ? null
            : Problems.Result(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", "The debug dump needs an admin token (Admin: true, Namespaces: *).", "Authorization"));
    }

    /// <summary>Returns a problem to answer with, or null when allowed.</summary>
    public IResult? Check(HttpContext context, string @namespace, bool write) => Admit(context, @namespace, write, invalidRequest: null);

    /// <summary>
    /// The order every handler answers in: 401 without a valid token, then <paramref name="invalidRequest"/>
    /// (a bad name in the route), then 403 without the right; null when the request may proceed.
    /// </summary>
    public IResult? Admit(HttpContext context, string @namespace, bool write, IResult? invalidRequest) =>
        Admit(context, @namespace, write, invalidRequest, out _);

    /// <summary>
    /// <see cref="Admit(HttpContext, string, bool, IResult?)"/> for a change, saying who makes it (the audit: the
    /// token's name, or <c>anonymous</c> without tokens) from the same authentication; null when refused.
    /// </summary>
    public IResult? AdmitChange(HttpContext context, string @namespace, IResult? invalidRequest, out WriteAuthor? author) =>
        Admit(context, @namespace, write: true, invalidRequest, out author);

    private IResult? Admit(HttpContext context, string @namespace, bool write, IResult? invalidRequest, out WriteAuthor? author)
    {
        author = null;
        if (write && FromAnotherSite(context.Request))
        {
            return Problems.Result(StatusCodes.Status403Forbidden, "cross-site-request", "Cross-site request",
                "A browser page from another site may not change the registry.", "Sec-Fetch-Site");
        }

        var (known, problem) = Identify(context);
        if ((problem ?? invalidRequest ?? Authorize(known?.Token, @namespace, write)) is { } refused)
        {
            return refused;
        }

        if (write)
        {
            author = AuthorFor(context, known?.Principal ?? WriteAuthor.Anonymous);
        }

        return null;
    }

    /// <summary>
    /// A write a browser sent on behalf of a page of another origin's site (its <c>Sec-Fetch-Site</c>). Browsers already
    /// stop such pages from sending JSON or PATCH/DELETE without a CORS preflight, which this node never grants; this is
    /// the second lock. The console's own requests are <c>same-origin</c>; programs send no such header.
    /// </summary>
    private static bool FromAnotherSite(HttpRequest request) =>
        request.Headers.TryGetValue("Sec-Fetch-Site", out var site) && site.ToString() is "cross-site" or "same-site";

    /// <summary>What an authenticated <paramref name="token"/> may do in <paramref name="namespace"/>; null when allowed.</summary>
    public static IResult? Authorize(AccessToken? token, string @namespace, bool write)
    {
        if (token is null)
        {
            return null;
        }

        if (!token.Namespaces.Contains("*") && !token.Namespaces.Contains(@namespace))
        {
            return Problems.Result(StatusCodes.Status403Forbidden, "forbidden", "Forbidden",
                $"The token has no access to namespace '{@namespace}'.", "namespace");
        }

        return write && !token.Write
            ? Problems.Result(StatusCodes.Status403Forbidden, "forbidden", "Forbidden",
                $"The token may read but not change namespace '{@namespace}'.", "Authorization")
            : null;
    }

    private static IResult Unauthorized(string detail, string challenge) =>
        Problems.Result(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", detail, "Authorization",
            headers: [new("WWW-Authenticate", challenge)]);
}
