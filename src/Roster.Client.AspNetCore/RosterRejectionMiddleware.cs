using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Roster.Client.AspNetCore;

/// <summary>
/// Declines, with 503 and a typed <see cref="RosterHttp.RejectionHeader"/>, the requests this process should not
/// take: one from Roster's handler while it drains, one meant for a service it does not host, and one above
/// its concurrency limit. The consumer's handler tries another instance and does not count the answer as a
/// failure. Requests already running are never affected.
/// </summary>
/// <remarks>
/// While draining, only requests that name their service in <see cref="RosterHttp.ServiceHeader"/> (sent by
/// Roster's handler, which retries elsewhere) are declined. Others (YARP, Microsoft.Extensions.ServiceDiscovery,
/// any client that does not retry a 503) are still served: the drain period is their time to see the drain
/// and move away, and a decline would be a failed request for them.
/// </remarks>
internal sealed class RosterRejectionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RosterProviderState _state;
    private readonly RosterRejectionOptions _options;
    private readonly string _retryAfter;
    private int _inFlight;

    public RosterRejectionMiddleware(
        RequestDelegate next, RosterProviderState state, IOptions<RosterRejectionOptions> options, IOptions<RosterRegistrationOptions> registration)
    {
        _next = next;
        _state = state;
        _options = options.Value;
        if (_options.HostedServices.Count == 0 && registration.Value.Service is { Length: > 0 } service)
        {
            _options.HostedServices.Add(service);
        }

        _retryAfter = Math.Max(1, (int)Math.Ceiling(_options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var named = context.Request.Headers[RosterHttp.ServiceHeader];
        if (_state.IsDraining && named.Count > 0)
        {
            Reject(context, RosterHttp.Draining);
            return;
        }

        if (named.Count > 0
            && _options.HostedServices.Count > 0
            && !_options.HostedServices.Contains(named.ToString()))
        {
            Reject(context, RosterHttp.NotHosted);
            return;
        }

        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            if (_options.MaxConcurrentRequests is { } limit && inFlight > limit)
            {
                Reject(context, RosterHttp.Overloaded);
                return;
            }

            await _next(context).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void Reject(HttpContext context, string reason)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers[RosterHttp.RejectionHeader] = reason;
        response.Headers.RetryAfter = _retryAfter;
        if (reason == RosterHttp.Draining)
        {
            // Let the consumer's pooled connection go, so its next request opens one to a live instance.
            response.Headers.Connection = "close";
        }
    }
}
