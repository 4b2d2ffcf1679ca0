using System.Net;
using System.Net.Http.Headers;

namespace Roster.Client.Connection;

/// <summary>Which answers mean "this node cannot serve now, try another or later", and for how long.</summary>
internal static class RetryAfter
{
    /// <summary>429, 502, 503 and 504: the node is overloaded, starting, stopping or behind a failing proxy.</summary>
    public static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>The wait the node asked for (seconds or a date), or zero when it did not say.</summary>
    public static TimeSpan Of(HttpResponseMessage response, DateTimeOffset now)
    {
        RetryConditionHeaderValue? header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta > TimeSpan.Zero ? delta : TimeSpan.Zero;
        }

        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return TimeSpan.Zero;
    }

    /// <summary>
    /// When to try again after a node asked for <paramref name="asked"/>: somewhere in [asked, 2 × asked), by
    /// <paramref name="random"/> in [0, 1). A fleet that a node turned away all at once (a deployment, the node's
    /// restart) then comes back spread over a window as long as the one the node asked for, not all at its end.
    /// </summary>
    public static TimeSpan Spread(TimeSpan asked, double random) => asked + (asked * Math.Clamp(random, 0, 1));
}
