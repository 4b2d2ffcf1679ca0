using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Roster.Client.Tests;

/// <summary>An HTTP handler that answers by rule per node, and records which node each request went to.</summary>
internal sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly Func<HttpRequestMessage, int, HttpResponseMessage?> _answer;
    private int _calls;

    /// <param name="answer">Given the request and its number (from 0), an answer; null means the connection is refused.</param>
    public ScriptedHandler(Func<HttpRequestMessage, int, HttpResponseMessage?> answer) => _answer = answer;

    public ConcurrentQueue<(string Node, string? Authorization)> Requests { get; } = new();

    public static HttpResponseMessage Status(HttpStatusCode status, string body = "{}", string contentType = "application/json")
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        response.Content.Headers.ContentType = new(contentType);
        return response;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Enqueue((request.RequestUri!.Authority, request.Headers.Authorization?.ToString()));
        var answer = _answer(request, Interlocked.Increment(ref _calls) - 1);
        return answer is null
            ? Task.FromException<HttpResponseMessage>(new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)))
            : Task.FromResult(answer);
    }
}
