using Microsoft.Extensions.Options;
using Roster.Core.Validation;

namespace Roster.Server.Security;

/// <summary>
/// Refuses token settings that cannot work, at start, naming the entry and never the token: an entry with
/// no token or two, an unreadable token file, a token given twice (every call would be ambiguous), a
/// namespace that cannot exist.
/// </summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.Tokens.Count; i++)
        {
            var entry = options.Tokens[i];
            var where = $"Roster:Auth:Tokens:{i}";
            if (entry.Token.Length > 0 && entry.TokenFile is { Length: > 0 })
            {
                errors.Add($"{where} gives both Token and TokenFile; give one.");
                continue;
            }

            string secret;
            try
            {
                secret = entry.ReadSecret();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{where}:TokenFile '{entry.TokenFile}' cannot be read: {ex.Message}");
                continue;
            }

            if (secret.Length == 0)
            {
                errors.Add($"{where} has no token: set Token or TokenFile.");
            }
            else if (seen.TryGetValue(secret, out var first))
            {
                errors.Add($"{where} has the same token as Roster:Auth:Tokens:{first}; every token must be distinct.");
            }
            else
            {
                seen[secret] = i;
            }

            if (entry.Name is { } tokenName)
            {
                if (tokenName.Trim().Length == 0 || tokenName.Length > 64 || tokenName.Any(char.IsControl))
                {
                    errors.Add($"{where}:Name must be 1 to 64 printable characters.");
                }
                else if (names.TryGetValue(tokenName, out var firstNamed))
                {
                    errors.Add($"{where}:Name '{tokenName}' is already the name of Roster:Auth:Tokens:{firstNamed}; the audit could not tell them apart.");
                }
                else
                {
                    names[tokenName] = i;
                }
            }

            if (entry.Namespaces.Count == 0)
            {
                errors.Add($"{where}:Namespaces is empty: name the namespaces, or * for all.");
            }

            for (var n = 0; n < entry.Namespaces.Count; n++)
            {
                if (entry.Namespaces[n] != "*" && Names.CheckName("namespace", entry.Namespaces[n]) is { } error)
                {
                    errors.Add($"{where}:Namespaces:{n}: {error.Message}");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
