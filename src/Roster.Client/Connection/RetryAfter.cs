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
}
