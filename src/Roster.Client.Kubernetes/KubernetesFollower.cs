using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Roster.Client.Connection;
using Roster.Client.Sources;

namespace Roster.Client.Kubernetes;

/// <summary>
/// Follows one Service's EndpointSlices: lists them, then watches from the list's resourceVersion, resuming from the last
/// version seen whenever the API server ends a watch. A <c>410 Gone</c> (the version is older than the server keeps)
/// means changes were lost: it lists again. Any other failure reports the source unreachable (the last list stays) and
/// lists again once the server answers, which also says the list is current again.
/// </summary>
internal sealed partial class KubernetesFollower(KubernetesTarget target, EndpointSourceFeed feed, IKubernetes client, KubernetesSourceProvider settings)
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    // Owned by RunAsync alone.
    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reportedPortProblems = new(StringComparer.Ordinal);
    private string? _resourceVersion;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (_resourceVersion is null)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                }

                failures = 0;
                await WatchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsGone(e))
            {
                LogGone(feed.Logger, feed.Service, _resourceVersion);
                _resourceVersion = null;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested
                && e is HttpOperationException or KubernetesException or HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException)
            {
                failures++;
                _resourceVersion = null; // read everything again once the server answers: that list is current
                var reason = e is HttpOperationException http ? $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase}" : e.Message;
                feed.Unreachable($"Kubernetes API ({reason})");
                var pause = Backoff.Delay(failures - 1, FirstRetryDelay, settings.MaxRetryDelay, Random.Shared.NextDouble());
                await Task.Delay(pause, feed.Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(settings.CallTimeout, feed.Time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
            target.Namespace, labelSelector: target.LabelSelector, cancellationToken: deadline.Token).ConfigureAwait(false);
        _slices.Clear();
        foreach (var slice in list.Items)
        {
            _slices[slice.Metadata.Name] = slice;
        }

        _resourceVersion = list.Metadata.ResourceVersion;
        Publish();
    }

    /// <summary>Watches from the last resourceVersion until the server ends the watch; throws what ended it otherwise.</summary>
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(settings.WatchDuration + TimeSpan.FromSeconds(30), feed.Time);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        Exception? ended = null;
        var events = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            target.Namespace, allowWatchBookmarks: true, labelSelector: target.LabelSelector, resourceVersion: _resourceVersion,
            timeoutSeconds: (int)settings.WatchDuration.TotalSeconds, onError: e => ended ??= e, cancellationToken: watch.Token);
        try
        {
            await foreach (var (type, slice) in events.ConfigureAwait(false))
            {
                Apply(type, slice);
            }
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
        {
            // The client reads a watch's first line before it hands out the stream: a watch the server ended before
            // any event (its time was up on a quiet Service, with no bookmark) ends this way. Resume, as after any end.
            return;
        }

        if (ended is not null)
        {
            throw ended;
        }
    }

    private void Apply(WatchEventType type, V1EndpointSlice slice)
    {
        switch (type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                _slices[slice.Metadata.Name] = slice;
                break;
            case WatchEventType.Deleted:
                _slices.Remove(slice.Metadata.Name);
                break;
            default:
                break; // a bookmark: only its version
        }

        _resourceVersion = slice.Metadata.ResourceVersion ?? _resourceVersion;
        if (type is not WatchEventType.Bookmark)
        {
            Publish();
        }
    }

    private static bool IsGone(Exception e) => e switch
    {
        KubernetesException { Status.Code: 410 } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };

    /// <summary>Every slice's endpoints that can take requests (ready) or finish them (serving while terminating: drained).</summary>
    private void Publish()
    {
        var endpoints = new Dictionary<string, InstanceEndpoint>(StringComparer.Ordinal);
        foreach (var slice in _slices.Values)
        {
            if (PortOf(slice) is not { } port)
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints ?? [])
            {
                var ready = endpoint.Conditions?.Ready ?? true;
                var serving = endpoint.Conditions?.Serving ?? ready;
                var terminating = endpoint.Conditions?.Terminating ?? false;
                if (endpoint.Addresses is not [var address, ..] || !(ready || (serving && terminating)))
                {
                    continue; // not ready: the pod is starting or failing its readiness probe
                }

                var host = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                if (endpoint.TargetRef?.Name is { } pod)
                {
                    metadata["k8s-pod"] = pod;
                }

                if (endpoint.NodeName is { } node)
                {
                    metadata["k8s-node"] = node;
                }

                var id = $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
                endpoints.TryAdd(id, new InstanceEndpoint(id, address, port)
                {
                    Zone = endpoint.Zone ?? "",
                    Drained = !ready,
                    Metadata = metadata.ToFrozenDictionary(StringComparer.Ordinal),
                });
            }
        }

        var version = long.TryParse(_resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : 0;
        feed.Publish(endpoints.Values, version, confirmed: true);
    }

    /// <summary>The port to call on a slice's endpoints: the target's number, the slice's port of the target's name, or the slice's only port.</summary>
    private int? PortOf(V1EndpointSlice slice)
    {
        if (target.PortNumber is { } number)
        {
            return number;
        }

        var ports = slice.Ports ?? [];
        var port = target.PortName is { } name ? ports.FirstOrDefault(p => p.Name == name) : ports.Count == 1 ? ports[0] : null;
        if (port?.Port is { } found)
        {
            return found;
        }

        if (_reportedPortProblems.Add(slice.Metadata.Name))
        {
            LogNoPort(feed.Logger, feed.Service, slice.Metadata.Name, target.PortName ?? "(none named)", string.Join(", ", ports.Select(p => $"{p.Name}={p.Port}")));
        }

        return null;
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Kubernetes source of {Service}: resourceVersion {Version} is gone (410); listing again")]
    private static partial void LogGone(ILogger logger, string service, string? version);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Kubernetes source of {Service}: EndpointSlice {Slice} has no port {Port} (it has {Ports}); its endpoints are left out")]
    private static partial void LogNoPort(ILogger logger, string service, string slice, string port, string ports);
}
