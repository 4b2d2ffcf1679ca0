namespace Roster.Client;

/// <summary>How a request to an endpoint ended, as the load balancer counts it.</summary>
public enum RequestOutcome
{
    /// <summary>The endpoint answered (any status that is not a server failure).</summary>
    Success,

    /// <summary>The endpoint failed: no connection, a timeout, or a 5xx that was not a rejection. Counts toward ejection.</summary>
    Failure,

    /// <summary>The endpoint declined the request on purpose (draining, not hosting the service, overloaded): skipped briefly, not counted as a failure.</summary>
    Rejected,
}
