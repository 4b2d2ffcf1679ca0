using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Roster.Client.Api;
using Roster.Client.Connection;

namespace Roster.Client.Discovery;

/// <summary>
/// One watch stream: opens <c>GET /api/v1/namespaces/{ns}/watch</c> on whichever node answers, parses its
/// Server-Sent Events, and posts each event to the discovery loop tagged with its generation. It owns no
/// discovery state. A stream that delivers no byte (not even a keep-alive) for the idle timeout is
/// taken as dead and ended, so a half-open connection cannot leave the consumer silently stale.
/// </summary>
internal static class WatchStream
{
    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    public static async Task RunAsync(
        RegistryConnection connection,
        string @namespace,
        IReadOnlyCollection<string> services,
        long? since,
        int generation,
        ChannelWriter<DiscoveryMessage> inbox,
        TimeSpan openTimeout,
        TimeSpan idleTimeout,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var path = WatchPath(@namespace, services, since);
        try
        {
            using var response = await connection.SendAsync(
                node =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, path));
                    request.Headers.Accept.Add(EventStream);
                    return request;
                },
                HttpCompletionOption.ResponseHeadersRead,
                openTimeout,
                cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                inbox.TryWrite(new DiscoveryMessage.StreamEnded(generation, $"the registry answered {(int)response.StatusCode}"));
                return;
            }

            var registryId = response.Headers.TryGetValues("Roster-Registry-Id", out var ids) ? ids.FirstOrDefault() : null;
            inbox.TryWrite(new DiscoveryMessage.StreamOpened(generation, registryId));

            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var watched = new ActivityStream(body, time);
            await using (watched.ConfigureAwait(false))
            {
                // The watchdog checks a few times per idle period and ends the read when nothing came.
                using var watchdog = time.CreateTimer(
                    _ =>
                    {
                        if (watched.IdleFor() >= idleTimeout)
                        {
                            reading.Cancel();
                        }
                    },
                    null,
                    idleTimeout / 4,
                    idleTimeout / 4);

                try
                {
                    await foreach (var item in SseParser.Create(watched, Parse).EnumerateAsync(reading.Token).ConfigureAwait(false))
                    {
                        if (item.Data is { } data)
                        {
                            inbox.TryWrite(new DiscoveryMessage.StreamEvent(generation, data));
                        }
                    }
                }
                catch (OperationCanceledException) when (reading.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    inbox.TryWrite(new DiscoveryMessage.StreamEnded(generation, $"nothing arrived for {idleTimeout.TotalSeconds:0.###} s"));
                    return;
                }
            }

            inbox.TryWrite(new DiscoveryMessage.StreamEnded(generation, "the registry closed the stream"));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The loop replaced or stopped this stream; it expects nothing more from it.
        }
        catch (Exception e) when (e is RosterUnavailableException or HttpRequestException or IOException or JsonException)
        {
            inbox.TryWrite(new DiscoveryMessage.StreamEnded(generation, e.Message));
        }
    }

    internal static string WatchPath(string @namespace, IReadOnlyCollection<string> services, long? since)
    {
        var path = new StringBuilder("api/v1/namespaces/").Append(Uri.EscapeDataString(@namespace)).Append("/watch?");
        foreach (var service in services)
        {
            path.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        if (since is { } revision)
        {
            path.Append("since=").Append(revision).Append('&');
        }

        return path.ToString(0, path.Length - 1);
    }

    private static object? Parse(string eventType, ReadOnlySpan<byte> data) => eventType switch
    {
        "upsert" or "delete" => JsonSerializer.Deserialize(data, ClientJsonContext.Default.ChangeData),
        "reset" => JsonSerializer.Deserialize(data, ClientJsonContext.Default.ResetData),
        "disconnect" => JsonSerializer.Deserialize(data, ClientJsonContext.Default.DisconnectData),
        _ => null, // A kind of event this client does not know: newer registries may add some.
    };
}
