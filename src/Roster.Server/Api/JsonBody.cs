using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Roster.Server.Api;

/// <summary>
/// Reads a JSON request body with explicit limits, so each kind of bad body gets its own status:
/// 415 for another content type, 413 over the size limit, 400 naming the field for malformed, over-deep
/// or mistyped JSON.
/// </summary>
internal static class JsonBody
{
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, int maxBytes)
        where T : class
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return (null, Problems.UnsupportedMediaType());
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, Problems.TooLarge(maxBytes));
        }

        // Read through the request pipe: no per-request buffers, and the size limit is checked as data arrives.
        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (read.Buffer.Length > maxBytes)
            {
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                return (null, Problems.TooLarge(maxBytes));
            }

            if (!read.IsCompleted)
            {
                // Consume nothing yet; ask for more until the whole body is buffered.
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
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

    private static (T? Value, IResult? Problem) Parse<T>(System.Buffers.ReadOnlySequence<byte> body, JsonTypeInfo<T> type)
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
                rented = System.Buffers.ArrayPool<byte>.Shared.Rent((int)body.Length);
                System.Buffers.BuffersExtensions.CopyTo(body, rented);
                json = rented.AsSpan(0, (int)body.Length);
            }

            var value = JsonSerializer.Deserialize(json, type);
            return value is null
                ? (null, Problems.Invalid("body", "The request body must be a JSON object."))
                : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Invalid(FieldOf(ex), Describe(ex)));
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
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
            return end > start + 1 ? message[(start + 1)..end] : "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string Describe(JsonException ex)
    {
        if ((ex as MetadataFieldException ?? ex.InnerException as MetadataFieldException) is { } metadata)
        {
            return metadata.Message;
        }

        var message = ex.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"Unknown field. {message}";
        }

        if (message.Contains("depth", StringComparison.OrdinalIgnoreCase))
        {
            return "The JSON is nested too deeply.";
        }

        return $"Malformed JSON or a value of the wrong type: {message}";
    }
}
