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
    /// Namespace and service names: DNS names in lower case. Dot-separated labels, each
    /// <c>[a-z0-9]([a-z0-9-]*[a-z0-9])?</c> of at most 63 characters; at most 253 characters in all.
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

        var labelStart = 0;
        for (var i = 0; i <= value.Length; i++)
        {
            if (i < value.Length && value[i] != '.')
            {
                if (!IsLowerAlphanumeric(value[i]) && value[i] != '-')
                {
                    return new FieldError(field, $"{field} may contain only a-z, 0-9, '-' and '.'.");
                }

                continue;
            }

            var length = i - labelStart;
            if (length == 0 || !IsLowerAlphanumeric(value[labelStart]) || !IsLowerAlphanumeric(value[i - 1]))
            {
                return new FieldError(field, $"{field} must be dot-separated labels that each start and end with a lower-case letter or digit.");
            }

            if (length > MaxLabelLength)
            {
                return new FieldError(field, $"{field} has a label longer than {MaxLabelLength} characters.");
            }

            labelStart = i + 1;
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

    /// <summary>
    /// An IPv4 address in dotted decimal, an IPv6 address without a zone index, or a host name (letters,
    /// digits, '-', labels of at most 63, the last one not all digits). Forms that other hosts read
    /// differently are refused: <c>010.0.0.1</c> is 8.0.0.1 to some resolvers, <c>0x0a.0.0.1</c> is
    /// 10.0.0.1, and <c>fe80::1%eth0</c> names an interface only this provider has.
    /// </summary>
    public static FieldError? CheckAddress(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return new FieldError(field, $"{field} is required.");
        }

        if (value.Contains(':', StringComparison.Ordinal))
        {
            if (value.Contains('%', StringComparison.Ordinal))
            {
                return new FieldError(field, $"{field} must not carry an IPv6 zone index ('%...'): other hosts cannot use it.");
            }

            return IPAddress.TryParse(value, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 && !value.Contains('[', StringComparison.Ordinal)
                ? null
                : new FieldError(field, $"{field} is not a valid IPv6 address.");
        }

        if (!value.AsSpan().ContainsAnyExcept(DigitsAndDots))
        {
            return IsDottedDecimal(value)
                ? null
                : new FieldError(field, $"{field} must be an IPv4 address in dotted decimal: four numbers from 0 to 255 without leading zeros.");
        }

        if (value.Length <= MaxNameLength && IsHostName(value))
        {
            return null;
        }

        return new FieldError(field, $"{field} must be an IPv4 address in dotted decimal, an IPv6 address or a host name.");
    }

    private static readonly System.Buffers.SearchValues<char> DigitsAndDots = System.Buffers.SearchValues.Create("0123456789.");

    /// <summary>Four numbers 0 to 255 without leading zeros, separated by dots. Allocates nothing: it runs on
    /// every registration.</summary>
    private static bool IsDottedDecimal(ReadOnlySpan<char> value)
    {
        for (var part = 0; part < 4; part++)
        {
            var end = value.IndexOf('.');
            if ((end < 0) != (part == 3))
            {
                return false;
            }

            var digits = end < 0 ? value : value[..end];
            if (digits.Length is 0 or > 3 || (digits.Length > 1 && digits[0] == '0')
                || !int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                || number > 255)
            {
                return false;
            }

            value = end < 0 ? default : value[(end + 1)..];
        }

        return true;
    }

    private static bool IsHostName(string value)
    {
        var labels = value.Split('.');
        foreach (var label in labels)
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

        // A last label of digits makes resolvers read the name as a numeric address (0x0a.0.0.1 is 10.0.0.1).
        return !labels[^1].All(char.IsAsciiDigit);
    }

    private static bool IsLowerAlphanumeric(char c) => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c);
}
