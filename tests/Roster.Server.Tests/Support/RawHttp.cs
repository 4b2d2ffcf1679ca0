using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Roster.Server.Tests.Support;

/// <summary>Sends bytes no HttpClient would (broken chunking, conflicting framing) and reads the answer until
/// the server closes the connection (requests should carry <c>Connection: close</c>).</summary>
internal static class RawHttp
{
    public static async Task<(int Status, string Headers, JsonElement? Body)> SendAsync(Uri server, string request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Replace("\n", "\r\n", StringComparison.Ordinal)), timeout.Token);

        using var response = new MemoryStream();
        await stream.CopyToAsync(response, timeout.Token);
        var text = Encoding.UTF8.GetString(response.ToArray());
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headers = headerEnd >= 0 ? text[..headerEnd] : text;
        var status = int.Parse(headers.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = headerEnd >= 0 ? text[(headerEnd + 4)..] : string.Empty;
        if (headers.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Unchunk(body);
        }

        return (status, headers, body.TrimStart().StartsWith('{') ? JsonDocument.Parse(body).RootElement.Clone() : null);
    }

    private static string Unchunk(string body)
    {
        var result = new StringBuilder();
        var at = 0;
        while (at < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[at..lineEnd], 16);
            if (size == 0)
            {
                break;
            }

            result.Append(body, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }

        return result.ToString();
    }
}
