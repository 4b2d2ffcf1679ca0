using Microsoft.Extensions.Logging;

namespace Roster.Client;

/// <summary>Discovery's log messages, with stable event ids (3000–3099).</summary>
public sealed partial class RosterDiscovery
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Error, Message = "Roster discovery failed to handle {Message}; the loop goes on")]
    private static partial void LogHandlingFailed(ILogger logger, string message, Exception exception);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Roster watch stream for namespace {Namespace} lost ({Reason}); lists are served from the cache until it is back")]
    private static partial void LogStreamLost(ILogger logger, string @namespace, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Roster watch stream for namespace {Namespace} still down ({Reason}), attempt {Attempt}")]
    private static partial void LogStreamStillDown(ILogger logger, string @namespace, string reason, int attempt);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Roster watch stream for namespace {Namespace} restored after {Attempts} failed attempts")]
    private static partial void LogStreamRestored(ILogger logger, string @namespace, int attempts);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Roster registry for namespace {Namespace} changed identity ({Previous} to {Current}); lists are reloaded from it")]
    private static partial void LogRegistryChanged(ILogger logger, string @namespace, string previous, string current);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Roster service {Namespace}/{Service} missed changes (sequence {Known} to {Received}); resyncing from a snapshot")]
    private static partial void LogGap(ILogger logger, string @namespace, string service, long known, long received);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service} differs from the registry's after sequence {Sequence}; resyncing from a snapshot")]
    private static partial void LogDigestMismatch(ILogger logger, string @namespace, string service, long sequence);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service}: the registry offered an unconfirmed empty list; the last one is kept unless it persists for {Seconds} s")]
    private static partial void LogEmptyRefused(ILogger logger, string @namespace, string service, double seconds);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service} is served from the cache directory ({Count} endpoints saved at {SavedAt}): the registry cannot be reached")]
    private static partial void LogDiskFallback(ILogger logger, string @namespace, string service, int count, DateTimeOffset savedAt);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Roster discovery could not save {Namespace}/{Service} to the cache directory: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string @namespace, string service, string reason);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Roster service {Namespace}/{Service} is now discovered from {Source}")]
    private static partial void LogSourceChanged(ILogger logger, string @namespace, string service, string source);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "Roster service {Namespace}/{Service}: the provider of {Target} failed ({Reason}); the last list is kept and the provider restarts")]
    private static partial void LogSourceFailed(ILogger logger, string @namespace, string service, string target, string reason, Exception? exception);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service}: {Target} cannot be reached ({Reason}); the last list is served until it is back")]
    private static partial void LogSourceLost(ILogger logger, string @namespace, string service, string target, string reason);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information, Message = "Roster service {Namespace}/{Service}: {Target} is reachable again")]
    private static partial void LogSourceRestored(ILogger logger, string @namespace, string service, string target);
}
