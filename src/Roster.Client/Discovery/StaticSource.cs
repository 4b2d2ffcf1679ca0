using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Roster.Client.Discovery;

/// <summary>
/// A fixed list of endpoints from configuration, in go-zero's syntax: <c>static://10.0.0.1:8080,host-2:8080,[fd00::1]:8080</c>.
/// Each endpoint is <c>host:port</c>, its id the same text. The balancer's ejection sets a failing address aside and
/// brings it back, as it does for the registry's lists; the list itself never changes.
/// </summary>
internal static class StaticSource
{
    public const string Scheme = "static://";

    /// <summary>Why <paramref name="target"/> is not a static source nor one of the <paramref name="providers"/>', or null when it is a static source.</summary>
    public static string? Check(string target, IEnumerable<Sources.IEndpointSourceProvider> providers)
    {
        if (!target.StartsWith(Scheme, StringComparison.Ordinal))
        {
            var known = string.Join(", ", providers.Select(p => p.Scheme + "://").Prepend(Scheme));
            var scheme = target.IndexOf("://", StringComparison.Ordinal) is var end and > 0 ? target[..(end + 3)] : null;
            return scheme switch
            {
                "etcd://" => $"etcd:// sources need the Roster.Client.Etcd package and its AddEtcdSources(); this discovery reads {known}.",
                "k8s://" => $"k8s:// sources need the Roster.Client.Kubernetes package and its AddKubernetesSources(); this discovery reads {known}.",
                null => $"'{target}' is not a source: it must start with a scheme ({known}).",
                _ => $"no source provider reads {scheme} targets; this discovery reads {known}.",
            };
        }

        return TryParse(target, out _, out var error) ? null : error;
    }

    /// <summary>The endpoints of a target <see cref="Check"/> accepted.</summary>
    public static ImmutableArray<InstanceEndpoint> Parse(string target) =>
        TryParse(target, out var endpoints, out var error) ? endpoints : throw new ArgumentException(error, nameof(target));

    /// <summary>Reads one <c>host:port</c> (<c>[v6]:port</c>) as an endpoint whose id is the same text; null when it is not one, with why.</summary>
    public static InstanceEndpoint? ParseHostPort(string text, out string? error)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{text}' does not hold an IPv6 address in its brackets.";
                return null;
            }
        }
        else if (host.Length == 0 || host.Contains(':', StringComparison.Ordinal) || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            error = $"'{text}' is not host:port (an IPv6 address goes in brackets: [fd00::1]:8080).";
            return null;
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"'{text}' has no port from 1 to 65535.";
            return null;
        }

        error = null;
        return new InstanceEndpoint(text, host, port);
    }

    private static bool TryParse(string target, out ImmutableArray<InstanceEndpoint> endpoints, out string? error)
    {
        endpoints = [];
        var builder = ImmutableArray.CreateBuilder<InstanceEndpoint>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in target[Scheme.Length..].Split(',', StringSplitOptions.TrimEntries))
        {
            if (ParseHostPort(part, out error) is not { } endpoint)
            {
                return false;
            }

            if (!seen.Add(part))
            {
                error = $"'{part}' is listed twice.";
                return false;
            }

            builder.Add(endpoint);
        }

        endpoints = builder.ToImmutable();
        error = null;
        return true;
    }
}
