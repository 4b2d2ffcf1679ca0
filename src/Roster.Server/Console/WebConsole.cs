using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Roster.Server.Console;

/// <summary>
/// The web console: plain HTML, CSS and ES modules embedded in this assembly (so in the <c>roster</c> executable),
/// served at <c>/</c> (the page) and <c>/ui/...</c> (its files). It reads and writes through the public API like
/// any client; the files themselves hold no registry data and need no token.
/// </summary>
internal static class WebConsole
{
    /// <summary>Scripts and styles only from this node, no inline script, no framing, no form posts, fetches only to this node.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void Map(WebApplication app)
    {
        var files = new ManifestEmbeddedFileProvider(typeof(WebConsole).Assembly, "Console/files");
        var index = files.GetFileInfo("index.html");
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new ManifestEmbeddedFileProvider(typeof(WebConsole).Assembly, "Console/files/ui"),
            RequestPath = "/ui",
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context => SecureHeaders(context.Context.Response),
        });

        IResult Page(HttpContext context)
        {
            SecureHeaders(context.Response);
            return Results.Stream(index.CreateReadStream(), "text/html; charset=utf-8");
        }

        app.MapGet("/", Page).DisableHttpMetrics();
        app.MapGet("/ui", Page).DisableHttpMetrics();
    }

    private static void SecureHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
    }
}
