using System.Text.Json;

namespace Roster.Server.Api;

/// <summary>A response body written straight to the response pipe with <see cref="Utf8JsonWriter"/>.</summary>
internal sealed class JsonResult(int status, Action<Utf8JsonWriter> write, long? revision = null) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        if (revision is { } r)
        {
            response.Headers["Roster-Revision"] = r.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            write(writer);
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
    }
}
