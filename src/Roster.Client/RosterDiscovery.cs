using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Roster.Client.Discovery;

namespace Roster.Client;

/// <summary>
/// A consumer's view of the services of one namespace. The first request for a service loads its
/// full list and then follows the registry's watch stream; every later request is answered from a
/// local cache without a lock or an allocation. Lists survive registry outages (and, with a cache
/// directory, process restarts during one), are never emptied by an unconfirmed empty answer, and
/// carry their age and source. Thread-safe; make one per namespace and share it.
/// </summary>
/// <remarks>
/// One background loop owns all discovery state and receives everything (events, answers, timers,
/// requests) through its inbox. Readers only read the cache's immutable lists; subscribers are fed
/// through their own channels. Source providers (etcd, Kubernetes, ...) run on tasks of their own and
/// report into the same inbox through their feed. No lock is held across an await or while user code runs.
/// </remarks>
public sealed partial class RosterDiscovery : IAsyncDisposable
{
    private readonly RosterClient _client;
    private readonly RosterDiscoveryOptions _options;
    private readonly TimeProvider _time;
    private readonly EndpointCache _cache = new();
    private readonly Channel<DiscoveryMessage> _inbox = Channel.CreateUnbounded<DiscoveryMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private readonly string _namespace;
    private readonly ILogger _logger;

    /// <summary>Starts discovering; nothing is fetched until a service is asked for.</summary>
    /// <param name="client">The registry client whose nodes, token and deadlines are used.</param>
    /// <param name="options">The namespace and discovery settings; validated here.</param>
    /// <param name="time">The clock for timers and ages; the system's when null.</param>
    /// <param name="logger">Where outages, resyncs and refused empty lists are reported; nowhere when null.</param>
    public RosterDiscovery(RosterClient client, RosterDiscoveryOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _options = options;
        _namespace = options.Namespace;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _disk = options.CacheDirectory is { Length: > 0 } directory ? new DiskCache(directory) : null;

        // Services with a static source are known from the start and never asked of the registry (the loop, the cache's
        // only writer afterwards, does not run yet).
        // Services followed by a provider (etcd, ...) start being followed when first asked for, as the registry's do.
        var readAt = _time.GetUtcNow();
        foreach (var (service, source) in options.ResolvedSources())
        {
            _sources[service] = source;
            if (source.Provider is null)
            {
                _cache.Replace(StaticList(service, source, readAt), confirmedEmpty: true, anySequence: true);
            }
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token));
        Diagnostics.RosterClientTelemetry.Track(this);
    }

    /// <summary>The namespace discovered.</summary>
    public string Namespace => _namespace;

    /// <summary>
    /// The service's current list when it is already known: no lock, no allocation, no I/O. False the
    /// first time a service is asked for; <see cref="GetEndpointsAsync"/> loads it.
    /// </summary>
    public bool TryGetEndpoints(string service, out ServiceEndpoints endpoints) => _cache.TryGet(_namespace, service, out endpoints);

    /// <summary>This discovery's clock (lists' ages are measured on it).</summary>
    internal DateTimeOffset Now() => _time.GetUtcNow();

    /// <summary>Every service's current list, sorted by service name: for diagnostics (it allocates).</summary>
    public IReadOnlyList<ServiceEndpoints> KnownServices() =>
        [.. _cache.All().Where(e => e.Namespace == _namespace).OrderBy(e => e.Service, StringComparer.Ordinal)];

    /// <summary>
    /// The service's list: from the cache when known (completing synchronously, without allocating), else
    /// after loading it from the registry, or from the cache directory when the registry cannot be reached.
    /// </summary>
    /// <exception cref="RosterUnavailableException">No list could be had within <see cref="RosterDiscoveryOptions.ResolveTimeout"/>.</exception>
    public ValueTask<ServiceEndpoints> GetEndpointsAsync(string service, CancellationToken cancellationToken = default)
    {
        if (_cache.TryGet(_namespace, service, out var endpoints))
        {
            return new ValueTask<ServiceEndpoints>(endpoints);
        }

        CheckServiceName(service);
        return new ValueTask<ServiceEndpoints>(LoadAsync(service, cancellationToken));
    }

    /// <summary>
    /// The service's list now (once known) and after every change, newest first when several arrive
    /// together: a slow reader skips intermediate lists rather than holding anything up.
    /// </summary>
    public IAsyncEnumerable<ServiceEndpoints> WatchAsync(string service, CancellationToken cancellationToken = default)
    {
        CheckServiceName(service);
        return WatchCoreAsync(service, cancellationToken);
    }

    /// <summary>
    /// Calls <paramref name="onChange"/> with the service's list now (once known) and after every change,
    /// one call at a time on a task of its own, never under a lock of the SDK. Dispose the result to stop.
    /// </summary>
    public IDisposable Subscribe(string service, Action<ServiceEndpoints> onChange)
    {
        CheckServiceName(service);
        ArgumentNullException.ThrowIfNull(onChange);
        var subscription = new EndpointSubscription(service);
        var stop = new CancellationTokenSource();
        _ = Task.Run(() => DeliverAsync(subscription, onChange, stop.Token), CancellationToken.None);
        Post(new DiscoveryMessage.Subscribe(subscription));
        return new Unsubscriber(this, subscription, stop);
    }

    /// <summary>
    /// Takes the <see cref="RosterDiscoveryOptions.Sources"/> of reloaded options (checked with <see cref="RosterDiscoveryOptions.Validate"/>):
    /// a service given a new static list uses it at once, one given another followed source (etcd, ...) follows it at once
    /// when it is in use; a service whose entry was removed goes back to the registry. The list in use stays until the new
    /// source's replaces it (an empty one only once confirmed).
    /// </summary>
    internal void ApplySources(RosterDiscoveryOptions options) => Post(new DiscoveryMessage.SourcesChanged(options.ResolvedSources()));

    /// <summary>Stops watching; lists already handed out stay valid. Pending lists are written to the cache directory first.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        Diagnostics.RosterClientTelemetry.Untrack(this);
        await _stopping.CancelAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private async Task<ServiceEndpoints> LoadAsync(string service, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<ServiceEndpoints>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new DiscoveryMessage.Interest(service, waiter));
        try
        {
            return await waiter.Task.WaitAsync(_options.ResolveTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RosterUnavailableException(
                $"No list of '{service}' in namespace '{_namespace}' within {_options.ResolveTimeout.TotalSeconds:0.###} s: the registry could not be reached and the cache directory has none.");
        }
    }

    private async IAsyncEnumerable<ServiceEndpoints> WatchCoreAsync(string service, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subscription = new EndpointSubscription(service);
        Post(new DiscoveryMessage.Subscribe(subscription));
        try
        {
            while (await subscription.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscription.Reader.TryRead(out var endpoints))
                {
                    yield return endpoints;
                }
            }
        }
        finally
        {
            Post(new DiscoveryMessage.Unsubscribe(subscription));
        }
    }

    private static async Task DeliverAsync(EndpointSubscription subscription, Action<ServiceEndpoints> onChange, CancellationToken cancellationToken)
    {
        try
        {
            while (await subscription.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscription.Reader.TryRead(out var endpoints))
                {
                    try
                    {
                        onChange(endpoints);
                    }
#pragma warning disable CA1031 // A subscriber's exception is its own; it must not end its subscription or reach the loop.
                    catch (Exception)
#pragma warning restore CA1031
                    {
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Post(DiscoveryMessage message)
    {
        // After disposal the inbox is closed: the message has no one to act on it, and that is fine.
        _inbox.Writer.TryWrite(message);
    }

    /// <summary>True when <paramref name="name"/> can name a Roster service: lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.</summary>
    internal static bool IsServiceName(string name) => name.Length <= 253 && ServiceName().IsMatch(name);

    private static void CheckServiceName(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (!IsServiceName(service))
        {
            throw new ArgumentException($"'{service}' is not a service name: lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.", nameof(service));
        }
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceName();

    private sealed class Unsubscriber(RosterDiscovery discovery, EndpointSubscription subscription, CancellationTokenSource stop) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                discovery.Post(new DiscoveryMessage.Unsubscribe(subscription));
                stop.Cancel();
            }
        }
    }
}
