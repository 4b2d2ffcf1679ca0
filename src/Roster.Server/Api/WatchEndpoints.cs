using System.Buffers;
using System.Globalization;
using Roster.Core.Serialization;
using Roster.Core.Validation;
using Roster.Core.Watch;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>
/// <c>GET /api/v1/namespaces/{ns}/watch?service=a&amp;service=b&amp;since=R</c>: a Server-Sent Events stream.
/// Each change is one frame with <c>id:</c> = its revision, so <c>Last-Event-ID</c> resumes exactly after
/// it. Frames were encoded once by the hub; this loop only copies bytes and flushes when the queue is
/// momentarily empty, so a burst goes out in few writes.
/// </summary>
internal static class WatchEndpoints
{
    public static void Map(RouteGroupBuilder api) => api.MapGet("/namespaces/{ns}/watch", WatchAsync).DisableHttpMetrics();

    private static async Task<IResult> WatchAsync(
        string ns, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IHostApplicationLifetime lifetime, TimeProvider time)
    {
        if (auth.Admit(context, ns, write: false, Names.CheckName("namespace", ns) is { } nsError ? Problems.Invalid(nsError) : null) is { } refused)
        {
            return refused;
        }

        var services = context.Request.Query["service"].Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).Distinct().ToList();
        foreach (var service in services)
        {
            if (Names.CheckName("service", service) is { } error)
            {
                return Problems.Invalid(error);
            }
        }

        long? since = null;
        var sinceText = context.Request.Query["since"].ToString();
        var field = "since";
        if (sinceText.Length == 0)
        {
            sinceText = context.Request.Headers["Last-Event-ID"].ToString();
            field = "Last-Event-ID";
        }

        if (sinceText.Length > 0)
        {
            if (!long.TryParse(sinceText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Problems.Invalid(field, $"{field} must be a revision: a whole number of zero or more.");
            }

            since = parsed;
        }

        var node = host.Node;
        if (!node.IsReady)
        {
            // Never serve a watch from a node that has not caught up: its list would be partial.
            return Problems.NotReady();
        }

        if (since > node.State.Revision)
        {
            // Resuming from a revision another node served and this one has not applied yet: wait for it
            // rather than answer with a reset to an older list.
            await node.CatchUpToAsync(since.Value, context.RequestAborted).ConfigureAwait(false);
        }

        // Kestrel stops before the node and waits for open requests: end streams as soon as stopping starts.
        using var streaming = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        await StreamAsync(context, node, ns, services, since, ClientOf(context, time), streaming.Token).ConfigureAwait(false);
        return Results.Empty;
    }

    private static async Task StreamAsync(
        HttpContext context, Core.Node.RegistryNode node, string ns, List<string> services, long? since, WatchClient client, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers["Roster-Registry-Id"] = node.RegistryId;

        // When the stream ends the connection goes with it: a watcher dropped for reading too slowly must not
        // keep a socket and its buffers until it gets round to closing them (clients reconnect anyway).
        if (HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            response.Headers.Connection = "close";
        }

        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();

        using var subscription = node.Watches.Subscribe(ns, services.Count == 0 ? null : services, since, client);
        var writer = response.BodyWriter;

        // A flush blocked on a client that does not read returns as soon as the hub ends the watch.
        await using var ended = subscription.Ended.UnsafeRegister(static state => ((System.IO.Pipelines.PipeWriter)state!).CancelPendingFlush(), writer);
        long lastRevision = since ?? 0;
        try
        {
            writer.Write("retry: 1000\n\n"u8);
            foreach (var frame in subscription.TakeStartFrames())
            {
                writer.Write(frame.Bytes.Span);
                lastRevision = frame.Revision;
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);

            // Drain whatever is queued, then flush once: a burst goes out in one write. Once the hub has
            // ended the watch nothing more is written but the reason: what is still queued would only pile
            // up in this connection's buffers.
            while (subscription.EndReason is null && await subscription.WaitForFramesAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscription.EndReason is null && subscription.TryReadFrame(out var frame))
                {
                    writer.Write(frame.Bytes.Span);
                    if (frame.Revision > 0)
                    {
                        lastRevision = frame.Revision;
                    }
                }

                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            // The hub ended this watch (too slow, or the node is stopping): say why and where to resume.
            await EndAsync(context, writer, subscription.EndReason ?? "closed", lastRevision).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                // The node is stopping: tell the client where to resume, on this node later or another.
                await EndAsync(context, writer, "shutdown", lastRevision).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Writes the <c>disconnect</c> frame. A watcher dropped for reading too slowly then has
    /// <see cref="SlowWatcherGrace"/> to read what is on its way and go; if it has not closed its end by then
    /// its connection is aborted, so a client that never reads holds none of the node's buffers (Kestrel would
    /// otherwise wait for it: its minimum response rate is an average since the response began, which a fast
    /// start keeps above the limit for hours). It resumes from the last revision it did read. Any other end
    /// gives the client a moment to take the frame.
    /// </summary>
    private static async Task EndAsync(HttpContext context, System.IO.Pipelines.PipeWriter writer, string reason, long lastRevision)
    {
        writer.Write(RegistryJson.DisconnectFrame(reason, lastRevision));
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            // The first flush may only consume the cancellation the end of the watch left behind.
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var flushed = await writer.FlushAsync(grace.Token).ConfigureAwait(false);
                if (!flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested)
        {
        }

        if (reason != Core.Watch.WatchEndReasons.SlowConsumer)
        {
            return;
        }

        try
        {
            var time = context.RequestServices.GetRequiredService<TimeProvider>();
            await Task.Delay(SlowWatcherGrace, time, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client read the reason and closed its end
        }

        context.Abort();
    }

    /// <summary>How long a watcher dropped as too slow may take to read the rest and close.</summary>
    internal static readonly TimeSpan SlowWatcherGrace = TimeSpan.FromSeconds(5);

    /// <summary>Who opened the watch, for the console's list of subscribers: address, user agent (bounded), when.</summary>
    private static WatchClient ClientOf(HttpContext context, TimeProvider time)
    {
        const int MaxUserAgentLength = 200;
        var connection = context.Connection;
        var userAgent = context.Request.Headers.UserAgent.ToString();
        return new WatchClient(
            connection.RemoteIpAddress is { } ip ? $"{ip}:{connection.RemotePort}" : "unknown",
            userAgent.Length > MaxUserAgentLength ? userAgent[..MaxUserAgentLength] : userAgent,
            time.GetUtcNow());
    }
}
