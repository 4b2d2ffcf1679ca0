using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Mvccpb;
using Roster.Client.Connection;
using Roster.Client.Discovery;
using Roster.Client.Sources;

namespace Roster.Client.Etcd;

/// <summary>
/// Follows one service's keys in etcd: reads them all (a linearizable range, so a member cut off from its cluster's
/// majority refuses rather than answering from old data), then watches the prefix from the read's revision + 1, so no
/// change between the two is missed. After a broken stream it resumes from the last revision seen; when etcd has
/// compacted that revision away it reads everything again. Each failure moves to the next member; while none answers
/// the last list stays (reported unreachable). A watch opened with etcd's <c>hasleader</c> requirement is cancelled by
/// a member that loses its leader, so a partitioned member cannot hold the watch silent.
/// </summary>
internal sealed partial class EtcdFollower : IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);
    private readonly EtcdTarget _target;
    private readonly EndpointSourceFeed _feed;
    private readonly EtcdSourceProvider _settings;
    private readonly GrpcChannel?[] _channels;
    private readonly string?[] _tokens; // each member's authentication token, when the cluster wants one
    private readonly ByteString _prefix;
    private readonly ByteString _prefixEnd;

    // Owned by RunAsync alone.
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reportedBadValues = new(StringComparer.Ordinal);
    private int _member;
    private long _revision;
    private ulong? _clusterId;
    private bool _mustRead = true;

    public EtcdFollower(EtcdTarget target, EndpointSourceFeed feed, EtcdSourceProvider settings)
    {
        _target = target;
        _feed = feed;
        _settings = settings;
        _channels = new GrpcChannel?[target.Members.Length];
        _tokens = new string?[target.Members.Length];
        _prefix = ByteString.CopyFromUtf8(target.Prefix);
        _prefixEnd = RangeEndOf(_prefix);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var member = _target.Members[_member];
            try
            {
                var channel = ChannelOf(_member);
                var headers = await HeadersAsync(channel, cancellationToken).ConfigureAwait(false);
                if (_mustRead)
                {
                    await ReadAllAsync(channel, headers, cancellationToken).ConfigureAwait(false);
                }

                failures = 0;
                await WatchAsync(channel, headers, () => failures = 0, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is RpcException or OperationCanceledException or HttpRequestException or IOException)
            {
                failures++;
                var reason = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
                if (e is RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.InvalidArgument })
                {
                    _tokens[_member] = null; // an expired or unknown token (or a wrong password): authenticate again next time
                }

                _feed.Unreachable($"etcd member {member.Authority} ({reason})");
                LogMemberFailed(_feed.Logger, _feed.Service, member.Authority, reason);
                _member = (_member + 1) % _channels.Length;

                // Every member once without a pause, then pauses that grow to MaxRetryDelay while none answers.
                if (failures >= _channels.Length)
                {
                    var pause = Backoff.Delay(failures / _channels.Length, FirstRetryDelay, _settings.MaxRetryDelay, Random.Shared.NextDouble());
                    await Task.Delay(pause, _feed.Time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>The headers of every call to the current member: its authentication token (got first when there is none yet).</summary>
    private async Task<Metadata> HeadersAsync(GrpcChannel channel, CancellationToken cancellationToken)
    {
        var headers = new Metadata();
        if (_settings.Username is not { Length: > 0 } user)
        {
            return headers;
        }

        if (_tokens[_member] is null)
        {
            using var timeout = new CancellationTokenSource(_settings.CallTimeout, _feed.Time);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            var answer = await new Auth.AuthClient(channel)
                .AuthenticateAsync(new AuthenticateRequest { Name = user, Password = _settings.Password ?? "" }, cancellationToken: deadline.Token)
                .ConfigureAwait(false);
            _tokens[_member] = answer.Token;
        }

        headers.Add("token", _tokens[_member]!);
        return headers;
    }

    /// <summary>Reads every key of the service and publishes the list, as of the read's revision.</summary>
    private async Task ReadAllAsync(GrpcChannel channel, Metadata headers, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_settings.CallTimeout, _feed.Time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var answer = await new KV.KVClient(channel)
            .RangeAsync(new RangeRequest { Key = _prefix, RangeEnd = _prefixEnd }, headers, cancellationToken: deadline.Token)
            .ConfigureAwait(false);

        // An answer from another cluster (etcd wiped and set up again, or the wrong members listed) is the truth about
        // that cluster only: an empty list from it waits for discovery's confirmation period.
        var sameCluster = _clusterId is null || _clusterId == answer.Header.ClusterId;
        _clusterId = answer.Header.ClusterId;
        _values.Clear();
        foreach (var kv in answer.Kvs)
        {
            _values[kv.Key.ToStringUtf8()] = kv.Value.ToStringUtf8();
        }

        _revision = answer.Header.Revision;
        _mustRead = false;
        Publish(confirmed: sameCluster);
    }

    /// <summary>Watches the service's keys from the revision after the last one seen, until the stream ends or must be read again.</summary>
    private async Task WatchAsync(GrpcChannel channel, Metadata headers, Action opened, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_settings.CallTimeout, _feed.Time); // until etcd says the watch is created
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        headers.Add("hasleader", "true");
        using var call = new Watch.WatchClient(channel).Watch(headers, cancellationToken: stop.Token);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = _prefix, RangeEnd = _prefixEnd, StartRevision = _revision + 1, ProgressNotify = true },
        }, stop.Token).ConfigureAwait(false);

        await foreach (var response in call.ResponseStream.ReadAllAsync(stop.Token).ConfigureAwait(false))
        {
            if (response.CompactRevision > 0)
            {
                // The changes after our revision are gone: read everything again, then watch from there.
                LogCompacted(_feed.Logger, _feed.Service, _revision, response.CompactRevision);
                _mustRead = true;
                return;
            }

            if (response.Canceled)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"etcd cancelled the watch: {response.CancelReason}"));
            }

            if (response.Created)
            {
                timeout.CancelAfter(Timeout.InfiniteTimeSpan);
                if (_clusterId != response.Header.ClusterId || response.Header.Revision < _revision)
                {
                    // Not the store the list was read from: read it.
                    _mustRead = true;
                    return;
                }

                opened();
                Publish(confirmed: true); // the list is current again (it was reported unreachable, or this is its first watch)
                continue;
            }

            foreach (var change in response.Events)
            {
                var key = change.Kv.Key.ToStringUtf8();
                if (change.Type == Event.Types.EventType.Put)
                {
                    _values[key] = change.Kv.Value.ToStringUtf8();
                }
                else
                {
                    _values.Remove(key);
                }
            }

            _revision = Math.Max(_revision, response.Header.Revision);
            if (response.Events.Count > 0)
            {
                Publish(confirmed: true);
            }
        }

        throw new RpcException(new Status(StatusCode.Unavailable, "etcd ended the watch"));
    }

    private void Publish(bool confirmed)
    {
        var endpoints = new Dictionary<string, InstanceEndpoint>(StringComparer.Ordinal);
        foreach (var (key, value) in _values)
        {
            if (StaticSource.ParseHostPort(value.Trim(), out var error) is { } endpoint)
            {
                endpoints.TryAdd(endpoint.Id, endpoint);
            }
            else if (_reportedBadValues.Add(key))
            {
                LogBadValue(_feed.Logger, _feed.Service, key, error!);
            }
        }

        _feed.Publish(endpoints.Values, _revision, confirmed);
    }

    private GrpcChannel ChannelOf(int member) => _channels[member] ??= CreateChannel(_target.Members[member]);

    private GrpcChannel CreateChannel(Uri member)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _settings.CallTimeout,
            KeepAlivePingDelay = _settings.KeepAliveTimeout / 2,
            KeepAlivePingTimeout = _settings.KeepAliveTimeout / 2,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
        };
        if (!_settings.Tls)
        {
            return GrpcChannel.ForAddress(member, new GrpcChannelOptions { Credentials = ChannelCredentials.Insecure, HttpHandler = handler });
        }

        if (_settings.ClientCertificate is { } certificate)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        if (_settings.TrustedCertificates is { } trusted)
        {
            // A private CA, as the registry's own TLS trusts one: it publishes no revocation lists to check.
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.AddRange(trusted);
            handler.SslOptions.CertificateChainPolicy = policy;
        }

        return GrpcChannel.ForAddress(new UriBuilder(member) { Scheme = Uri.UriSchemeHttps }.Uri, new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>The end of the range of every key that starts with <paramref name="prefix"/>: the prefix with its last byte plus one.</summary>
    private static ByteString RangeEndOf(ByteString prefix)
    {
        var end = prefix.ToByteArray();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0); // every key after the prefix
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel?.Dispose();
        }
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "etcd source of {Service}: member {Member} failed ({Reason}); trying the next one")]
    private static partial void LogMemberFailed(ILogger logger, string service, string member, string reason);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "etcd source of {Service}: revision {Revision} was compacted (to {Compacted}); reading every key again")]
    private static partial void LogCompacted(ILogger logger, string service, long revision, long compacted);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "etcd source of {Service}: the value of {Key} is not host:port ({Reason}); it is left out")]
    private static partial void LogBadValue(ILogger logger, string service, string key, string reason);
}
