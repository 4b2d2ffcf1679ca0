using Microsoft.Extensions.Options;
using Roster.Server.Api;

namespace Roster.Server.Security;

/// <summary>
/// Checks <c>Authorization: Bearer ...</c> against the configured tokens: 401 when missing or unknown,
/// 403 when the token has no right for that namespace or for writing.
/// </summary>
internal sealed class TokenAuthorizer(IOptions<AuthOptions> options)
{
    private readonly Dictionary<string, AccessToken> _tokens =
        options.Value.Tokens.Where(t => t.Token.Length > 0).ToDictionary(t => t.Token, StringComparer.Ordinal);

    public bool Enabled => _tokens.Count > 0;

    /// <summary>
    /// For listings: which namespaces the caller may read (null means all), or a problem when the caller
    /// has no valid token.
    /// </summary>
    public (Func<string, bool>? CanRead, IResult? Problem) ReadableNamespaces(HttpContext context)
    {
        if (!Enabled)
        {
            return (null, null);
        }

        if (Check(context, "*", write: false) is { } problem && !IsForbidden(problem))
        {
            return (null, problem);
        }

        var token = _tokens[context.Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim()];
        return token.Namespaces.Contains("*") ? (null, null) : (ns => token.Namespaces.Contains(ns), null);
    }

    private static bool IsForbidden(IResult problem) =>
        problem is IStatusCodeHttpResult { StatusCode: StatusCodes.Status403Forbidden };

    /// <summary>Returns a problem to answer with, or null when allowed.</summary>
    public IResult? Check(HttpContext context, string @namespace, bool write)
    {
        if (!Enabled)
        {
            return null;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Result(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                "A bearer token is required (Authorization: Bearer <token>).", "Authorization");
        }

        if (!_tokens.TryGetValue(header["Bearer ".Length..].Trim(), out var token))
        {
            return Problems.Result(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                "The bearer token is not known to this registry.", "Authorization");
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
}
