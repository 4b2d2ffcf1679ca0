using Microsoft.Extensions.Logging;

namespace Roster.Core.Node;

public sealed partial class RegistryNode
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Registry node ready at revision {Revision} with {Instances} instances")]
    private static partial void LogReady(ILogger logger, long revision, int instances);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Expired {Count} instances")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not write the expiry of {Count} instances; retrying on the next pass")]
    private static partial void LogExpiryFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Self-preservation: expiry paused in namespace {Namespace}, {Expiring} of {Leased} leases would expire at once")]
    private static partial void LogSelfPreservationStarted(ILogger logger, string @namespace, int expiring, int leased);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Self-preservation ended in namespace {Namespace}; expiry resumed")]
    private static partial void LogSelfPreservationEnded(ILogger logger, string @namespace);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Checkpoint written at revision {Revision}")]
    private static partial void LogCheckpointWritten(ILogger logger, long revision);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Appending {Count} changes to the log failed")]
    private static partial void LogAppendFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 9, Level = LogLevel.Critical, Message = "The {Loop} loop stopped on an error; the node is unhealthy and must be restarted")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string loop);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Writes are refused: {Problem}. The node keeps serving reads and watches and retries with each write")]
    private static partial void LogStorageFailing(ILogger logger, Exception exception, string problem);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Writes succeed again (was: {Problem})")]
    private static partial void LogStorageRecovered(ILogger logger, string problem);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "The outcome of appending {Count} changes is unknown; their callers wait for the log to show it")]
    private static partial void LogAppendUncertain(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Adopted {Count} leases of nodes not heard from for one TTL")]
    private static partial void LogAdopted(ILogger logger, int count);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Could not claim the leases of silent nodes; trying again one TTL later")]
    private static partial void LogAdoptionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Checkpoint at revision {Revision} failed")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, long revision);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Not ready yet: cannot learn how far the log reaches ({Reason}); asking again")]
    private static partial void LogCatchUpWaiting(ILogger logger, string reason);
}
