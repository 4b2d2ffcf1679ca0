using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Net.Http.Headers;
using Roster.Server.Diagnostics;

namespace Roster.Server.Api;

/// <summary>
/// Reads a JSON request body with explicit limits, so each kind of bad body gets its own status and
/// nothing a client sends can crash or flood the node: 415 for another content type or a charset other
/// than UTF-8, 413 over the size limit, 400 naming the field for malformed, over-deep or mistyped JSON,
/// 400 for malformed HTTP framing, 408 for a body that does not arrive in time, 503 with
/// <c>Retry-After</c> when the bodies in flight already hold the node's budget.
/// </summary>
internal static class JsonBody
{
    /// <summary>Bodies at least this large (or of unknown length) are parsed as they stream when the caller
    /// allows it; smaller ones are buffered, which is faster.</summary>
    private const long StreamingThreshold = 1024 * 1024;

    /// <param name="context">The request.</param>
    /// <param name="type">What the body holds.</param>
    /// <param name="maxBytes">Larger bodies are refused with 413.</param>
    /// <param name="streamLarge">Parse a large body as it arrives instead of buffering it whole (renewals).</param>
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, int maxBytes, bool streamLarge = false)
        where T : class
    {
        var request = context.Request;
        if (CheckFraming(request) is { } framingProblem)
        {
            return (null, framingProblem);
        }

        if (request.ContentLength > maxBytes)
        {
            CloseAfterResponse(context);
            return (null, Problems.TooLarge(maxBytes));
        }

        var budget = context.RequestServices.GetRequiredService<RequestBodyBudget>();
        if (streamLarge && request.ContentLength is null or >= StreamingThreshold)
        {
            return await ReadStreamingAsync(context, type, maxBytes, budget).ConfigureAwait(false);
        }

        long reserved = 0;
        CancellationTokenSource? deadline = null;
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(deadline?.Token ?? context.RequestAborted).ConfigureAwait(false);
                var length = read.Buffer.Length;
                if (length > maxBytes)
                {
                    reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                    CloseAfterResponse(context);
                    return (null, Problems.TooLarge(maxBytes));
                }

                if (length > reserved)
                {
                    // Reserve what is buffered now (or the whole declared length at once), before it grows.
                    var wanted = Math.Max(length, Math.Min(request.ContentLength ?? 0, maxBytes));
                    if (!budget.TryReserve(wanted - reserved))
                    {
                        reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                        CloseAfterResponse(context);
                        return (null, Problems.Busy());
                    }

                    reserved = wanted;
                }

                if (!read.IsCompleted)
                {
                    // Consume nothing yet; ask for more until the whole body is buffered. Only a body that
                    // arrives in pieces pays for a deadline.
                    reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                    if (deadline is null)
                    {
                        deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                        deadline.CancelAfter(budget.ReadTimeout);
                    }

                    continue;
                }

                try
                {
                    return Parse(read.Buffer, type);
                }
                finally
                {
                    reader.AdvanceTo(read.Buffer.End);
                }
            }
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true && !context.RequestAborted.IsCancellationRequested)
        {
            return (null, BodyTimedOut(context, budget));
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            return (null, MalformedBody(context, ex));
        }
        finally
        {
            budget.Release(reserved);
            deadline?.Dispose();
        }
    }

    /// <summary>Parses the body as it arrives, through a reader that applies the size limit and the budget.</summary>
    private static async Task<(T? Value, IResult? Problem)> ReadStreamingAsync<T>(HttpContext context, JsonTypeInfo<T> type, int maxBytes, RequestBodyBudget budget)
        where T : class
    {
        using var metered = new MeteredBodyReader(context.Request.BodyReader, budget, maxBytes);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(budget.ReadTimeout);
        try
        {
            var value = await JsonSerializer.DeserializeAsync(metered, type, deadline.Token).ConfigureAwait(false);
            return Parsed(value);
        }
        catch (MeteredBodyReader.BodyLimitException limit)
        {
            CloseAfterResponse(context);
            return (null, limit.TooLarge ? Problems.TooLarge(maxBytes) : Problems.Busy());
        }
        catch (JsonException ex)
        {
            return (null, InvalidJson(ex));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            return (null, BodyTimedOut(context, budget));
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            return (null, MalformedBody(context, ex));
        }
    }

    /// <summary>
    /// A refusal before the whole body was read leaves the rest of it on the connection: ask the client not
    /// to reuse the connection (and Kestrel to close it) rather than read and discard megabytes.
    /// </summary>
    internal static void CloseAfterResponse(HttpContext context)
    {
        if (HttpProtocol.IsHttp11(context.Request.Protocol) && !context.Response.HasStarted)
        {
            context.Response.Headers.Connection = "close";
        }
    }

    private static IResult BodyTimedOut(HttpContext context, RequestBodyBudget budget)
    {
        CloseAfterResponse(context);
        BadInputLog.Refused(context, "body-timeout");
        return Problems.Result(StatusCodes.Status408RequestTimeout, "body-timeout", "Body too slow",
            $"The request body did not arrive within {budget.ReadTimeout.TotalSeconds:0} s.", "body");
    }

    /// <summary>
    /// Malformed framing (a chunk size that cannot be, a body shorter than Content-Length) or a body below the
    /// minimum data rate: the client's fault, answered as such. Kestrel reports some framing errors as a plain
    /// IOException ("Bad chunk size data" for ffffffffffffffff).
    /// </summary>
    private static IResult MalformedBody(HttpContext context, Exception ex)
    {
        CloseAfterResponse(context);
        BadInputLog.Refused(context, "malformed-body");
        var status = ex is BadHttpRequestException { StatusCode: >= 400 and < 500 } bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
        return Problems.Result(status, "malformed-body", "Malformed body", $"The request body could not be read: {ex.Message}", "body");
    }

    /// <summary>Content type, charset, and framing a server must not guess about.</summary>
    private static IResult? CheckFraming(HttpRequest request)
    {
        if (!request.HasJsonContentType())
        {
            return Problems.UnsupportedMediaType();
        }

        // Parameters are rare: parse them (which allocates) only when there are some.
        var charset = request.ContentType!.Contains(';', StringComparison.Ordinal) && MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            ? mediaType.Charset
            : default;
        if (charset.HasValue && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Result(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                $"The request body must be UTF-8 JSON; charset={charset} is not accepted.", "Content-Type");
        }

        // Both at once is how request smuggling starts (RFC 9112, 6.3): refuse rather than pick one. Kestrel
        // follows the chunked framing and moves Content-Length to X-Content-Length, so look for either.
        return request.Headers.TransferEncoding.Count > 0
            && (request.Headers.ContentLength is not null || request.Headers.ContainsKey("X-Content-Length"))
            ? Problems.Invalid("Content-Length", "Content-Length and Transfer-Encoding must not both be given.")
            : null;
    }

    private static (T? Value, IResult? Problem) Parse<T>(ReadOnlySequence<byte> body, JsonTypeInfo<T> type)
        where T : class
    {
        if (body.IsEmpty)
        {
            return (null, Problems.Invalid("body", "The request body is empty; a JSON object is required."));
        }

        // The serializer reports the path of an error (over-deep, wrong type) only when it owns the
        // reader, so give it one contiguous span: the body itself, or one pooled copy of it.
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> json;
            if (body.IsSingleSegment)
            {
                json = body.FirstSpan;
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent((int)body.Length);
                body.CopyTo(rented);
                json = rented.AsSpan(0, (int)body.Length);
            }

            var value = JsonSerializer.Deserialize(json, type);
            return Parsed(value);
        }
        catch (JsonException ex)
        {
            return (null, InvalidJson(ex));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static (T? Value, IResult? Problem) Parsed<T>(T? value)
        where T : class =>
        value is null ? (null, Problems.Invalid("body", "The request body must be a JSON object.")) : (value, null);

    private static IResult InvalidJson(JsonException ex)
    {
        var field = FieldOf(ex);
        return Problems.Invalid(field, Describe(ex, field));
    }

    /// <summary>Turns a JSON path like <c>$.leases[2].incarnation</c> into <c>leases[2].incarnation</c>.</summary>
    private static string FieldOf(JsonException ex)
    {
        // The serializer may wrap a converter's exception to add the path; the inner one knows the key.
        if ((ex as MetadataFieldException ?? ex.InnerException as MetadataFieldException) is { } metadata)
        {
            return metadata.Field;
        }

        var path = ex.Path;
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            // Unknown members are reported at their parent; the message names the member.
            var message = ex.Message;
            var start = message.IndexOf('\'', StringComparison.Ordinal);
            var end = start >= 0 ? message.IndexOf('\'', start + 1) : -1;
            return message.Contains("could not be mapped", StringComparison.Ordinal) && end > start + 1 ? message[(start + 1)..end] : "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    /// <summary>What is wrong, in the API's words: never a .NET type name.</summary>
    private static string Describe(JsonException ex, string field)
    {
        if ((ex as MetadataFieldException ?? ex.InnerException as MetadataFieldException) is { } metadata)
        {
            return metadata.Message;
        }

        var message = ex.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"'{field}' is not a field of this request.";
        }

        if (message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
        {
            return "The request body is empty; a JSON object is required.";
        }

        if (message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return "The JSON is nested too deeply.";
        }

        if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{field}' is given twice.";
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"{field} must be {ExpectedForm(field)}.";
        }

        if (ex.InnerException is null && ex.LineNumber is { } line && ex.BytePositionInLine is { } position
            && (message.Contains("Expected depth to be zero", StringComparison.Ordinal) || message.Contains("end of data", StringComparison.Ordinal)))
        {
            return $"The JSON ends before it is complete (line {line + 1}, byte {position + 1}).";
        }

        return $"The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).";
    }

    private static string ExpectedForm(string field)
    {
        var name = field[(field.LastIndexOf('.') + 1)..];
        return name switch
        {
            "port" => "a whole number from 1 to 65535 (not a string)",
            "weight" => "a whole number (not a string)",
            "ttlSeconds" => "a whole number of seconds (not a string)",
            "incarnation" => "a positive whole number (not a string)",
            "persistent" or "drained" or "disabled" => "true or false",
            "leases" => "a list of {namespace, service, id, incarnation}",
            _ when name.StartsWith("leases[", StringComparison.Ordinal) => "an object {namespace, service, id, incarnation}",
            "metadata" => "an object of string values",
            "body" => "a JSON object",
            _ => "a string",
        };
    }
}
