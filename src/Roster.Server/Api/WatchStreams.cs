using System.Collections.Concurrent;

namespace Roster.Server.Api;

/// <summary>
/// The watch streams open on this node and who holds them: what the console lists as a service's subscribers.
/// Each stream adds itself when it starts and removes itself when it ends; its last revision sent is written by its
/// own loop alone and read by anyone.
/// </summary>
internal sealed class WatchStreams(TimeProvider time)
{
    private const int MaxUserAgentLength = 200;
    private readonly ConcurrentDictionary<WatchStream, byte> _open = new();

    public WatchStream Open(HttpContext context, string @namespace, IReadOnlyList<string> services, long startRevision)
    {
        var connection = context.Connection;
        var userAgent = context.Request.Headers.UserAgent.ToString();
        var stream = new WatchStream(
            @namespace,
            services,
            connection.RemoteIpAddress is { } ip ? $"{ip}:{connection.RemotePort}" : "unknown",
            userAgent.Length > MaxUserAgentLength ? userAgent[..MaxUserAgentLength] : userAgent,
            time.GetUtcNow(),
            startRevision);
        _open.TryAdd(stream, 0);
        return stream;
    }

    public void Close(WatchStream stream) => _open.TryRemove(stream, out _);

    /// <summary>The streams that receive <paramref name="service"/>'s changes, oldest first.</summary>
    public IEnumerable<WatchStream> Receiving(string @namespace, string service) =>
        _open.Keys.Where(s => s.Namespace == @namespace && (s.Services.Count == 0 || s.Services.Contains(service))).OrderBy(s => s.Since);
}

/// <summary>One open watch stream: its client, since when, and the last revision it was sent.</summary>
internal sealed class WatchStream(string @namespace, IReadOnlyList<string> services, string remoteAddress, string userAgent, DateTimeOffset since, long startRevision)
{
    private long _lastRevision = startRevision;

    public string Namespace { get; } = @namespace;

    /// <summary>The services it watches; empty for the whole namespace.</summary>
    public IReadOnlyList<string> Services { get; } = services;

    public string RemoteAddress { get; } = remoteAddress;

    public string UserAgent { get; } = userAgent;

    public DateTimeOffset Since { get; } = since;

    public long LastRevision
    {
        get => Volatile.Read(ref _lastRevision);
        set => Volatile.Write(ref _lastRevision, value);
    }
}
