using System.Collections.Immutable;
using Roster.Client.Discovery;

namespace Roster.Client.Etcd;

/// <summary>
/// An <c>etcd://</c> target in go-zero's syntax: <c>etcd://10.0.0.1:2379,10.0.0.2:2379/user.rpc</c> names the etcd members
/// to ask (in order, the next one when one fails) and the service's key. go-zero registers each instance as the key
/// <c>{key}/{lease id}</c>, attached to a lease the instance keeps alive, whose value is the instance's <c>host:port</c>.
/// </summary>
internal sealed record EtcdTarget(ImmutableArray<Uri> Members, string Key)
{
    public const string Scheme = "etcd";

    /// <summary>The keys of the service's instances all start with this.</summary>
    public string Prefix => Key + "/";

    /// <summary>Reads <paramref name="target"/>; null when it is not an etcd target, with why.</summary>
    public static EtcdTarget? Parse(string target, out string? error)
    {
        const string prefix = Scheme + "://";
        if (!target.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{target}' is not an etcd target: etcd://host:port[,host:port...]/key.";
            return null;
        }

        var rest = target[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || slash == rest.Length - 1)
        {
            error = $"'{target}' names no key: etcd://host:port[,host:port...]/key (go-zero's service key, such as user.rpc).";
            return null;
        }

        var key = rest[(slash + 1)..];
        if (key.Any(char.IsWhiteSpace) || key.EndsWith('/'))
        {
            error = $"'{key}' is not a key go-zero registers under: no spaces, no trailing '/'.";
            return null;
        }

        var members = ImmutableArray.CreateBuilder<Uri>();
        foreach (var member in rest[..slash].Split(',', StringSplitOptions.TrimEntries))
        {
            if (StaticSource.ParseHostPort(member, out var why) is not { } endpoint)
            {
                error = $"etcd member {why}";
                return null;
            }

            var host = endpoint.Address.Contains(':', StringComparison.Ordinal) ? $"[{endpoint.Address}]" : endpoint.Address;
            var uri = new Uri($"http://{host}:{endpoint.Port}");
            if (members.Contains(uri))
            {
                error = $"etcd member '{member}' is listed twice.";
                return null;
            }

            members.Add(uri);
        }

        error = null;
        return new EtcdTarget(members.ToImmutable(), key);
    }
}
