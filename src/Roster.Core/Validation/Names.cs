using System.Net;
using System.Net.Sockets;

namespace Roster.Core.Validation;

/// <summary>The syntax rules for names and addresses.</summary>
public static class Names
{
    public const int MaxNameLength = 253;
    public const int MaxLabelLength = 63;
    public const int MaxIdLength = 253;

    /// <summary>
    /// Namespace and service names: DNS-like, lower case. <c>[a-z0-9]([a-z0-9.-]*[a-z0-9])?</c>, at most 253
    /// characters, each dot-separated label at most 63.
    /// </summary>
    public static FieldError? CheckName(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return new FieldError(field, $"{field} is required.");
        }

        if (value.Length > MaxNameLength)
        {
            return new FieldError(field, $"{field} is longer than {MaxNameLength} characters.");
        }

        if (!IsLowerAlphanumeric(value[0]) || !IsLowerAlphanumeric(value[^1]))
        {
            return new FieldError(field, $"{field} must start and end with a lower-case letter or digit.");
        }

        var labelLength = 0;
        foreach (var c in value)
        {
            if (c == '.')
            {
                labelLength = 0;
                continue;
            }

            if (!IsLowerAlphanumeric(c) && c != '-')
            {
                return new FieldError(field, $"{field} may contain only a-z, 0-9, '-' and '.'.");
            }

            if (++labelLength > MaxLabelLength)
            {
                return new FieldError(field, $"{field} has a label longer than {MaxLabelLength} characters.");
            }
        }

        return null;
    }

    /// <summary>
    /// Instance ids: 1 to 253 characters of <c>A-Z a-z 0-9 . _ : - [ ]</c>, so <c>address:port</c> (also
    /// <c>[v6]:port</c>) works as an id.
    /// </summary>
    public static FieldError? CheckInstanceId(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return new FieldError(field, $"{field} is required.");
        }

        if (value.Length > MaxIdLength)
        {
            return new FieldError(field, $"{field} is longer than {MaxIdLength} characters.");
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or ':' or '-' or '[' or ']'))
            {
                return new FieldError(field, $"{field} may contain only letters, digits and . _ : - [ ].");
            }
        }

        return null;
    }

    /// <summary>An IPv4 or IPv6 literal, or a host name (letters, digits, '-', labels of at most 63).</summary>
    public static FieldError? CheckAddress(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return new FieldError(field, $"{field} is required.");
        }

        if (IPAddress.TryParse(value, out var ip)
            && (ip.AddressFamily == AddressFamily.InterNetworkV6 || value.AsSpan().Count('.') == 3))
        {
            return null;
        }

        if (value.Length <= MaxNameLength && IsHostName(value))
        {
            return null;
        }

        return new FieldError(field, $"{field} must be an IPv4 or IPv6 address or a host name.");
    }

    private static bool IsHostName(string value)
    {
        foreach (var label in value.Split('.'))
        {
            if (label.Length is 0 or > MaxLabelLength || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        // All-numeric dotted names are malformed IPv4 addresses, not host names.
        return !value.All(c => char.IsAsciiDigit(c) || c == '.');
    }

    private static bool IsLowerAlphanumeric(char c) => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c);
}
