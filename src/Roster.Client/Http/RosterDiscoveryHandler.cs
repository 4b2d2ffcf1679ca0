using System.Diagnostics;
using System.Net;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Roster.Client.Diagnostics;
using Roster.Client.Discovery;

namespace Roster.Client.Http;

/// <summary>
/// Sends <c>http://{service}/...</c> to an endpoint of that service. The host name is the service;
/// the balancer picks an endpoint; the outcome is recorded for it. A provider's rejection (503 with
/// <see cref="RosterHttp.RejectionHeader"/>) or a refused connection is retried on another endpoint,
/// since the provider did nothing with the request; any other failure is retried only when the method
/// is idempotent. A retry needs content that can be sent twice (every built-in content can, except a
/// <see cref="StreamContent"/> over a stream that cannot seek).
/// </summary>
internal sealed partial class RosterDiscoveryHandler(RosterDiscovery discovery, RosterLoadBalancer balancer, DiscoverySettings settings, ILogger? logger)
    : DelegatingHandler
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = request.RequestUri ?? throw new InvalidOperationException("The request has no address; set HttpClient.BaseAddress to http://{service}/.");
        if (target.HostNameType != UriHostNameType.Dns || target.IsLoopback)
        {
            // An IP literal or localhost names no service (it may come from another resolver stacked on this client): pass it through.
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var service = target.IdnHost;
        if (!discovery.TryGetEndpoints(service, out var endpoints))
        {
            endpoints = await discovery.GetEndpointsAsync(service, cancellationToken).ConfigureAwait(false);
        }

        request.Headers.TryAddWithoutValidation(RosterHttp.ServiceHeader, service);
        var key = HashKeyOf(request);
        var idempotent = IsIdempotent(request.Method);
        var maxAttempts = settings.Current.MaxAttemptsPerRequest;
        ulong tried = 0;
        HttpResponseMessage? declined = null;
        ExceptionDispatchInfo? failure = null;
        string? retryReason = null;
        try
        {
            for (var attempt = 0; attempt < maxAttempts && balancer.TryPick(endpoints, key, tried, out var lease); attempt++)
            {
                tried |= lease.Index < 64 ? 1UL << lease.Index : 0;
                request.RequestUri = new Uri(string.Concat(lease.Origin, target.PathAndQuery));
                if (retryReason is not null)
                {
                    RosterClientTelemetry.Retries.Add(1, new("roster.service", service), new("roster.reason", retryReason));
                }

                // One span per attempt (null, and free, when nobody listens): a trace shows a retry on another instance.
                using var activity = RosterClientTelemetry.ActivitySource.StartActivity("roster.attempt", ActivityKind.Client);
                activity?.SetTag("roster.service", service);
                activity?.SetTag("roster.endpoint", lease.Endpoint.Id);
                activity?.SetTag("roster.attempt", attempt + 1);
                HttpResponseMessage response;
                try
                {
                    response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested && CanGoElsewhere(e, idempotent))
                {
                    lease.Complete(RequestOutcome.Failure);
                    activity?.SetTag("roster.outcome", "failure");
                    LogAttemptFailed(_logger, service, lease.Endpoint.Id, e.HttpRequestError, e.Message);
                    failure = ExceptionDispatchInfo.Capture(e);
                    retryReason = e.HttpRequestError == HttpRequestError.ConnectionError ? "connection_error" : "failure";
                    continue;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    lease.Complete(RequestOutcome.Failure);
                    activity?.SetTag("roster.outcome", "failure");
                    Count(service, "failure");
                    throw;
                }

                var verdict = Judge(response, lease, service, idempotent);
                activity?.SetTag("roster.outcome", verdict.Outcome);
                if (verdict.Final)
                {
                    Count(service, verdict.Outcome);
                    return response;
                }

                retryReason = verdict.Outcome;
                Keep(ref declined, response);
            }
        }
        finally
        {
            // The caller sees the address it asked for, whichever endpoint answered.
            request.RequestUri = target;
        }

        if (declined is not null)
        {
            Count(service, "declined");
            return declined;
        }

        if (failure is not null)
        {
            Count(service, "failure");
            failure.Throw();
        }

        Count(service, "no_endpoint");
        LogNoEndpoint(_logger, service, discovery.Namespace, endpoints.Endpoints.Length, endpoints.Source);
        throw new HttpRequestException(
            HttpRequestError.ConnectionError,
            $"Service '{service}' in namespace '{discovery.Namespace}' has no endpoint that can take a request ({endpoints.Endpoints.Length} listed, source {endpoints.Source}).",
            statusCode: HttpStatusCode.ServiceUnavailable);
    }

    /// <summary>What to do with an answer: give it to the caller (<paramref name="Final"/>), or try another endpoint and keep it in case none does better.</summary>
    /// <param name="Final">The caller gets this answer.</param>
    /// <param name="Outcome">answered, failure or declined: the span's and the metrics' outcome.</param>
    private readonly record struct Verdict(bool Final, string Outcome);

    private static void Count(string service, string outcome) =>
        RosterClientTelemetry.Requests.Add(1, new("roster.service", service), new("roster.outcome", outcome));

    /// <summary>
    /// A provider's rejection goes elsewhere (it did nothing with the request); a server error goes elsewhere only
    /// for an idempotent method; anything else is the answer. The outcome is recorded for the endpoint.
    /// </summary>
    private Verdict Judge(HttpResponseMessage response, EndpointLease lease, string service, bool idempotent)
    {
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.Contains(RosterHttp.RejectionHeader))
        {
            lease.Complete(RequestOutcome.Rejected, response.Headers.RetryAfter?.Delta);
            var reason = response.Headers.GetValues(RosterHttp.RejectionHeader).FirstOrDefault();
            RosterClientTelemetry.Rejections.Add(1, new("roster.service", service),
                new("roster.rejection", reason is RosterHttp.Draining or RosterHttp.NotHosted or RosterHttp.Overloaded ? reason : "other"));
            if (_logger.IsEnabled(LogLevel.Debug))
            {
#pragma warning disable CA1873 // Guarded just above.
                LogDeclined(_logger, service, lease.Endpoint.Id, string.Join(',', response.Headers.GetValues(RosterHttp.RejectionHeader)));
#pragma warning restore CA1873
            }

            return new Verdict(Final: false, "declined");
        }

        if ((int)response.StatusCode >= 500)
        {
            lease.Complete(RequestOutcome.Failure);
            return new Verdict(Final: !idempotent, "failure");
        }

        lease.Complete(RequestOutcome.Success);
        return new Verdict(Final: true, "answered");
    }

    /// <summary>Nothing reached a provider that refused the connection, so any method may go elsewhere; other failures only when idempotent.</summary>
    private static bool CanGoElsewhere(HttpRequestException e, bool idempotent) => e.HttpRequestError == HttpRequestError.ConnectionError || idempotent;

    private string? HashKeyOf(HttpRequestMessage request)
    {
        // Read only when used: a request's options dictionary is created on first access.
        return balancer.Policy == LoadBalancingPolicy.ConsistentHash && request.Options.TryGetValue(RosterHttp.HashKey, out var key) ? key : null;
    }

    private static void Keep(ref HttpResponseMessage? declined, HttpResponseMessage response)
    {
        // Only the latest declining answer is kept, to return if no endpoint does better.
        declined?.Dispose();
        declined = response;
    }

    private static bool IsIdempotent(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options || method == HttpMethod.Trace
        || method == HttpMethod.Put || method == HttpMethod.Delete;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Endpoint {EndpointId} of {Service} declined a request ({Rejection}); trying another")]
    private static partial void LogDeclined(ILogger logger, string service, string endpointId, string rejection);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A request to endpoint {EndpointId} of {Service} failed ({Error}: {Reason}); trying another")]
    private static partial void LogAttemptFailed(ILogger logger, string service, string endpointId, HttpRequestError error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service} in namespace {Namespace} has no endpoint that can take a request ({Listed} listed, source {Source})")]
    private static partial void LogNoEndpoint(ILogger logger, string service, string @namespace, int listed, EndpointSource source);
}
