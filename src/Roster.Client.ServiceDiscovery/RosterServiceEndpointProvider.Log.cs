using Microsoft.Extensions.Logging;

namespace Roster.Client.ServiceDiscovery;

internal sealed partial class RosterServiceEndpointProvider
{
    /// <summary>Log messages with stable event ids (3100–3199: the Microsoft.Extensions.ServiceDiscovery provider).</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 3100, EventName = "RosterResolved", Level = LogLevel.Debug,
            Message = "Resolved {Service} through Roster: {Added} of {Listed} instances take requests (sequence {Sequence}, source {Source})")]
        public static partial void Resolved(ILogger logger, string service, int added, int listed, long sequence, EndpointSource source);

        [LoggerMessage(EventId = 3101, EventName = "RosterOverridden", Level = LogLevel.Debug,
            Message = "{Service} is resolved by an earlier provider (configuration); Roster's list is not used")]
        public static partial void Overridden(ILogger logger, string service);

        [LoggerMessage(EventId = 3102, EventName = "RosterServingLastList", Level = LogLevel.Warning,
            Message = "Roster has no list of {Service} now ({Reason}); serving the last one")]
        public static partial void ServingLastList(ILogger logger, string service, string reason);
    }
}
