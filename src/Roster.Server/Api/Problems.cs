using Roster.Core.Validation;

namespace Roster.Server.Api;

/// <summary>
/// Builds RFC 7807 problem responses. Every refusal names the field it is about, so a client developer
/// knows what to change without reading server logs.
/// </summary>
internal static class Problems
{
    private const string TypeBase = "https://roster.dev/problems/";

    /// <summary>The body of admission control's 503 for each Retry-After it asks (1 to 5 s), encoded once: turning a
    /// request away must cost the node as little as it can, since a storm's excess is what it cannot afford.</summary>
    private static readonly byte[][] OverloadedBodies = [.. Enumerable.Range(1, 5).Select(seconds => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
        new ApiProblem(TypeBase + "overloaded", "Overloaded", StatusCodes.Status503ServiceUnavailable,
            $"The node is over its admission bounds (Roster:Admission) and takes no more of these requests now; retry after {seconds} s.", null),
        ApiJsonContext.Default.ApiProblem))];

    private static readonly string[] RetryAfterSeconds = ["1", "2", "3", "4", "5"];

    /// <summary>Answers 503 <c>overloaded</c> with <c>Retry-After: <paramref name="retryAfterSeconds"/></c> (1 to 5) from
    /// bytes encoded at start: no formatting, no serializing.</summary>
    public static ValueTask<System.IO.Pipelines.FlushResult> WriteOverloadedAsync(HttpContext context, int retryAfterSeconds)
    {
        var index = Math.Clamp(retryAfterSeconds, 1, 5) - 1;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers.RetryAfter = RetryAfterSeconds[index];
        response.ContentType = "application/problem+json";
        response.ContentLength = OverloadedBodies[index].Length;
        return response.BodyWriter.WriteAsync(OverloadedBodies[index], context.RequestAborted);
    }

    public static IResult Invalid(FieldError error) =>
        Result(StatusCodes.Status400BadRequest, "invalid-field", "Invalid field", error.Message, error.Field);

    public static IResult Invalid(string field, string detail) => Invalid(new FieldError(field, detail));

    public static IResult NotFound(string field, string detail) =>
        Result(StatusCodes.Status404NotFound, "not-found", "Not found", detail, field);

    public static IResult StaleIncarnation(long current) =>
        Result(StatusCodes.Status409Conflict, "stale-incarnation", "Stale incarnation",
            $"The instance was registered again since; its current incarnation is {current}.", "incarnation");

    public static IResult TooLarge(int limit) =>
        Result(StatusCodes.Status413PayloadTooLarge, "body-too-large", "Body too large",
            $"The request body is larger than {limit} bytes.", "body");

    public static IResult UnsupportedMediaType() =>
        Result(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
            "The request body must be JSON (Content-Type: application/json).", "Content-Type");

    public static IResult StorageUnavailable(bool diskFull) =>
        diskFull
            ? Result(StatusCodes.Status503ServiceUnavailable, "disk-full", "Disk full",
                "The node's disk is full, so the change was not made (nothing changed). Retry later or on another node.", null, retryAfterSeconds: 5)
            : Result(StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "Storage unavailable",
                "The node could not write its log, so the change was not made (nothing changed). Retry later or on another node.", null, retryAfterSeconds: 5);

    public static IResult BusUnavailable() =>
        Result(StatusCodes.Status503ServiceUnavailable, "bus-unavailable", "Message bus unavailable",
            "This cluster node cannot reach its message bus, so the change was not made (nothing changed). Retry at another node; this node keeps serving reads and watches.", null, retryAfterSeconds: 2);

    public static IResult Busy() =>
        Result(StatusCodes.Status503ServiceUnavailable, "busy", "Busy",
            "The node is reading as many request bodies as its memory budget allows; retry shortly.", null, retryAfterSeconds: 1);

    public static IResult NotReady() =>
        Result(StatusCodes.Status503ServiceUnavailable, "not-ready", "Not ready",
            "The registry node has not caught up with its log yet or is stopping; retry, or use another node.", null,
            retryAfterSeconds: 1);

    public static IResult Timeout() =>
        Result(StatusCodes.Status503ServiceUnavailable, "write-timeout", "Write timed out",
            "The change was not confirmed in time; it may still apply. Retrying is safe.", null, retryAfterSeconds: 1);

    public static IResult Result(
        int status, string type, string title, string detail, string? field, int? retryAfterSeconds = null,
        KeyValuePair<string, string>[]? headers = null) =>
        new ProblemResult(new ApiProblem(TypeBase + type, title, status, detail, field), retryAfterSeconds, headers);

    private sealed class ProblemResult(ApiProblem problem, int? retryAfterSeconds, KeyValuePair<string, string>[]? headers) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => problem.Status;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = problem.Status;
            if (retryAfterSeconds is { } seconds)
            {
                response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            foreach (var (name, value) in headers ?? [])
            {
                response.Headers[name] = value;
            }

            return response.WriteAsJsonAsync(problem, ApiJsonContext.Default.ApiProblem, "application/problem+json", httpContext.RequestAborted);
        }
    }
}
