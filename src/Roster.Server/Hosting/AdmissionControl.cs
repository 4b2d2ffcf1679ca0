using Roster.Server.Api;

namespace Roster.Server.Hosting;

/// <summary>
/// How much a node takes on before it turns requests away (<c>Roster:Admission</c>). Seed 001: a registry that
/// accepted every registration of a large deployment at once collapsed, and collapsed again on every restart as the
/// clients came back together. A node protects itself instead: above a share of these bounds it answers 503 with
/// Retry-After before reading a body or doing any work, new registrations first, renewals and reads last.
/// </summary>
public sealed class AdmissionOptions
{
    /// <summary>Requests being handled at once (watch streams, health, metrics and status excluded). Default 1,024.</summary>
    public int MaxConcurrentRequests { get; set; } = 1024;

    /// <summary>Writes accepted and not yet applied. Default 8,192.</summary>
    public int MaxPendingWrites { get; set; } = 8192;
}

/// <summary>
/// The node's admission control, a middleware ahead of routing. Each request is classed by method and path; its class
/// may use a share of the bounds in <see cref="AdmissionOptions"/>: registrations (PUT of an instance) up to half,
/// other changes (PATCH, DELETE) up to three quarters, renewals and reads all of it. Load is the larger of the share of
/// requests in flight and the share of pending writes. Watch streams, <c>/healthz</c>, <c>/readyz</c>,
/// <c>/metrics</c>, <c>/api/v1/status</c>, the debug dump and the console's files are never turned away (a watch is
/// one long request, and these are what operators need most when the node is busy). The counter of requests in flight
/// is one interlocked integer: nothing is locked and nothing waits.
/// </summary>
internal sealed class AdmissionControl(Microsoft.Extensions.Options.IOptions<AdmissionOptions> options, RegistryNodeHost host)
{
    private readonly int _maxConcurrent = Math.Max(1, options.Value.MaxConcurrentRequests);
    private readonly int _maxPendingWrites = Math.Max(1, options.Value.MaxPendingWrites);
    private int _inFlight;
    private long _shed;

    /// <summary>Requests being handled now that admission control counts.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests turned away so far.</summary>
    public long Shed => Interlocked.Read(ref _shed);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var share = ShareOf(context.Request);
        if (share is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            var pending = host.TryGetNode(out var node) ? node.PendingWrites : 0;
            var load = Math.Max((double)inFlight / _maxConcurrent, (double)pending / _maxPendingWrites);
            if (load > share)
            {
                Interlocked.Increment(ref _shed);

                // The busier, the longer the wait asked for (1 to 5 s); the SDK spreads its return over as long again.
                var retryAfter = Math.Clamp((int)Math.Ceiling(load * 2), 1, 5);
                await Problems.WriteOverloadedAsync(context, retryAfter).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>The share of the bounds a request may use, or null for requests never turned away.</summary>
    private static double? ShareOf(HttpRequest request)
    {
        var path = request.Path.Value ?? string.Empty;
        if (!path.StartsWith("/api/v1/", StringComparison.Ordinal))
        {
            // The compatibility APIs, weighed below; anything else (health, metrics, the console) is never turned away.
            return path.StartsWith("/eureka/", StringComparison.Ordinal) ? EurekaShareOf(request, path)
                : path.StartsWith("/v1/", StringComparison.Ordinal) ? ConsulShareOf(request, path)
                : null;
        }

        if (path.Equals("/api/v1/status", StringComparison.Ordinal)
            || path.Equals("/api/v1/debug", StringComparison.Ordinal)
            || path.EndsWith("/watch", StringComparison.Ordinal))
        {
            return null;
        }

        if (HttpMethods.IsPut(request.Method))
        {
            return 0.5;
        }

        return HttpMethods.IsPatch(request.Method) || HttpMethods.IsDelete(request.Method) ? 0.75 : 1.0;
    }

    /// <summary>The Eureka API's requests, weighed as their native counterparts: a registration (POST) is turned away
    /// first, a heartbeat (PUT on an instance) and a fetch last, a cancel or a status override in between.</summary>
    private static double EurekaShareOf(HttpRequest request, string path)
    {
        if (HttpMethods.IsPost(request.Method))
        {
            return 0.5;
        }

        if (HttpMethods.IsDelete(request.Method) || path.EndsWith("/status", StringComparison.Ordinal) || path.EndsWith("/metadata", StringComparison.Ordinal))
        {
            return 0.75;
        }

        return 1.0;
    }

    /// <summary>The Consul API's requests, weighed as their native counterparts; a blocking query (<c>?index=</c>) is a
    /// long wait like a watch and never turned away, nor are the agent's and leader's status reads.</summary>
    private static double? ConsulShareOf(HttpRequest request, string path)
    {
        if (request.Query.ContainsKey("index") || path is "/v1/status/leader" or "/v1/agent/self")
        {
            return null;
        }

        if (path.StartsWith("/v1/agent/service/register", StringComparison.Ordinal))
        {
            return 0.5;
        }

        return path.StartsWith("/v1/agent/service/deregister", StringComparison.Ordinal) ? 0.75 : 1.0;
    }
}
