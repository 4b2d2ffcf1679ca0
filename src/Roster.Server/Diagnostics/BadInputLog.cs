namespace Roster.Server.Diagnostics;

/// <summary>
/// Logs requests refused for what the client sent (a malformed or slow body). Bad input is not a server
/// failure: one short line at information level, at most <see cref="MaxPerWindow"/> per
/// <see cref="Window"/>, the rest counted into the next line. A thousand bad connections write a handful
/// of lines, not a thousand stack traces.
/// </summary>
internal sealed partial class BadInputLog(ILogger<BadInputLog> logger, TimeProvider time)
{
    public const int MaxPerWindow = 5;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private long _windowStart = time.GetTimestamp();
    private int _inWindow;
    private long _suppressed;

    public static void Refused(HttpContext context, string reason) =>
        context.RequestServices.GetRequiredService<BadInputLog>().Record(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", reason);

    public void Record(string client, string reason)
    {
        var now = time.GetTimestamp();
        var start = Volatile.Read(ref _windowStart);
        if (time.GetElapsedTime(start, now) >= Window && Interlocked.CompareExchange(ref _windowStart, now, start) == start)
        {
            Interlocked.Exchange(ref _inWindow, 0);
        }

        if (Interlocked.Increment(ref _inWindow) > MaxPerWindow)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }

        var suppressed = Interlocked.Exchange(ref _suppressed, 0);
        LogRefused(logger, client, reason, suppressed);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Refused a request from {Client}: {Reason} ({Suppressed} more refused since the previous line)")]
    private static partial void LogRefused(ILogger logger, string client, string reason, long suppressed);
}
