using System.Net.Http.Headers;

namespace Roster.Client.Connection;

/// <summary>
/// Sends one call to whichever registry node can take it. A node that refuses the connection, times
/// out, or answers 429/502/503/504 is skipped for the rest of the round (and, when it sent Retry-After,
/// until that time has passed, for every call; a cluster node that answered <c>bus-unavailable</c> still
/// serves reads and renewals, so it is skipped for writes only); after a round in which every node failed, the call
/// waits a capped exponential backoff with jitter, or, when that is later, the soonest Retry-After spread over as
/// long again (<see cref="RetryAfter.Spread"/>), so callers turned away together do not return together. The
/// whole call has one deadline. The node that answered last is tried first next time.
/// </summary>
internal sealed class RegistryConnection : IDisposable
{
    private readonly Uri[] _servers;
    private readonly long[] _notBeforeTicks;
    private readonly long[] _writesNotBeforeTicks;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly RosterClientOptions _options;
    private readonly AuthenticationHeaderValue? _authorization;
    private int _preferred;

    public RegistryConnection(RosterClientOptions options, HttpMessageHandler? handler, TimeProvider? time, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _servers = [.. options.Servers];
        _notBeforeTicks = new long[_servers.Length];
        _writesNotBeforeTicks = new long[_servers.Length];
        _http = new HttpClient(handler ?? RegistryTls.CreateHandler(options), disposeHandler: handler is null)
        {
            // Deadlines come from the time provider below, so tests can move them; HttpClient's own is off.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared.NextDouble;
        _authorization = options.Token is { Length: > 0 } token ? new AuthenticationHeaderValue("Bearer", token) : null;
    }

    /// <summary>
    /// Sends the request that <paramref name="build"/> makes for a node's base address and returns the
    /// first answer that is not "try elsewhere" (success, or a refusal such as 400 or 404).
    /// </summary>
    /// <exception cref="RosterUnavailableException">No node gave such an answer before the call's deadline.</exception>
    public Task<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> build, CancellationToken cancellationToken) =>
        SendAsync(build, HttpCompletionOption.ResponseContentRead, _options.CallTimeout, cancellationToken);

    /// <summary>
    /// As <see cref="SendAsync(Func{Uri, HttpRequestMessage}, CancellationToken)"/>, returning as soon as the
    /// headers are read when <paramref name="completion"/> says so (a stream), within <paramref name="timeout"/>.
    /// The deadline covers finding a node that answers; the body of a stream is then read without one.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        Func<Uri, HttpRequestMessage> build, HttpCompletionOption completion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        string lastFailure = "no node was tried";
        try
        {
            for (var round = 0; ; round++)
            {
                var first = Volatile.Read(ref _preferred);
                var soonestRetry = TimeSpan.MaxValue;
                for (var i = 0; i < _servers.Length; i++)
                {
                    var index = (first + i) % _servers.Length;
                    var server = _servers[index];
                    using var request = build(server);
                    var isWrite = request.Method == HttpMethod.Put || request.Method == HttpMethod.Patch || request.Method == HttpMethod.Delete;
                    var notBefore = Volatile.Read(ref _notBeforeTicks[index]);
                    if (isWrite)
                    {
                        notBefore = Math.Max(notBefore, Volatile.Read(ref _writesNotBeforeTicks[index]));
                    }

                    var wait = TimeSpan.FromTicks(notBefore - _time.GetUtcNow().UtcTicks);
                    if (wait > TimeSpan.Zero)
                    {
                        // The node asked not to be called (or not to be written to) before then.
                        soonestRetry = wait < soonestRetry ? wait : soonestRetry;
                        continue;
                    }

                    using var attempt = new CancellationTokenSource(_options.AttemptTimeout, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(call.Token, attempt.Token);
                    HttpResponseMessage? response = null;
                    try
                    {
                        request.Headers.Authorization = _authorization;
                        response = await _http.SendAsync(request, completion, linked.Token).ConfigureAwait(false);
                        if (!RetryAfter.IsRetryable(response.StatusCode))
                        {
                            Volatile.Write(ref _preferred, index);
                            var answer = response;
                            response = null;
                            return answer;
                        }

                        var asked = RetryAfter.Of(response, _time.GetUtcNow());
                        var skipped = await RefusesOnlyWritesAsync(response, linked.Token).ConfigureAwait(false) ? _writesNotBeforeTicks : _notBeforeTicks;
                        Volatile.Write(ref skipped[index], (_time.GetUtcNow() + asked).UtcTicks);
                        if (asked > TimeSpan.Zero)
                        {
                            soonestRetry = asked < soonestRetry ? asked : soonestRetry;
                        }

                        lastFailure = $"{server} answered {(int)response.StatusCode}";
                    }
                    catch (HttpRequestException e)
                    {
                        lastFailure = $"{server}: {e.Message}";
                    }
                    catch (OperationCanceledException) when (attempt.IsCancellationRequested && !call.IsCancellationRequested)
                    {
                        lastFailure = $"{server} did not answer within {_options.AttemptTimeout.TotalSeconds:0.###} s";
                    }
                    finally
                    {
                        response?.Dispose();
                    }
                }

                var backoff = Backoff.Delay(round, _options.InitialBackoff, _options.MaxBackoff, _random());
                var pause = soonestRetry != TimeSpan.MaxValue && soonestRetry > backoff ? RetryAfter.Spread(soonestRetry, _random()) : backoff;
                await Task.Delay(pause, _time, call.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RosterUnavailableException(
                $"No registry node answered within {timeout.TotalSeconds:0.###} s ({string.Join(", ", _servers.Select(s => s.ToString()))}); last: {lastFailure}.");
        }
    }

    /// <summary>
    /// Whether <paramref name="response"/> is a cluster node's <c>bus-unavailable</c> problem: it cannot reach its
    /// message bus, so it refuses changes, but still answers reads, watches and renewals from memory.
    /// </summary>
    private static async Task<bool> RefusesOnlyWritesAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable
            || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return false;
        }

        try
        {
            using var problem = await System.Text.Json.JsonDocument.ParseAsync(
                await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            return problem.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == System.Text.Json.JsonValueKind.String
                && type.GetString()!.EndsWith("/bus-unavailable", StringComparison.Ordinal);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>The validated options this connection was made with.</summary>
    public RosterClientOptions Options => _options;

    public void Dispose() => _http.Dispose();
}
