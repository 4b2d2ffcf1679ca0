using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using Roster.PeerBench.Etcd.Protocol;
using Roster.PeerBench.Workloads;

namespace Roster.PeerBench.Etcd;

/// <summary>
/// etcd through its native gRPC API, in go-zero's layout: a provider grants one lease (TTL 10 s), puts
/// each instance as <c>/services/{service}/{id}</c> attached to that lease, and keeps the lease alive
/// every TTL/3 on a LeaseKeepAlive stream. A watcher ranges over <c>/services/</c> and then watches the
/// prefix from the next revision, resuming from its last revision after a failure. In a cluster, a
/// provider or watcher whose member fails carries on at the next member, as clientv3 does.
/// </summary>
internal sealed class EtcdDriver(IReadOnlyList<Uri> members) : RecordingDriver
{
    private const string Prefix = "/services/";
    private static readonly ByteString PrefixKey = ByteString.CopyFromUtf8(Prefix);
    private static readonly ByteString PrefixEnd = ByteString.CopyFromUtf8("/services0"); // '/' + 1
    private static readonly ByteString Value = ByteString.CopyFrom(Naming.InstanceValue());

    private EtcdProvider? _writer;

    public override async Task<long> CountInstancesAsync(CancellationToken cancellationToken)
    {
        for (var member = 0; ; member++)
        {
            try
            {
                using var connection = new GrpcConnection(members[member]);
                var response = await connection.UnaryAsync(
                    "/etcdserverpb.KV/Range", new RangeRequest { Key = PrefixKey, RangeEnd = PrefixEnd, CountOnly = true }, RangeResponse.Parser, cancellationToken).ConfigureAwait(false);
                return response.Count;
            }
            catch (HttpRequestException) when (member + 1 < members.Count)
            {
                // That member is down (W7): ask the next.
            }
        }
    }

    public override ProcessStartInfo HolderProcess(int instances, int ttlSeconds) =>
        Holder.StartInfo("etcd", members[0], instances, ttlSeconds);

    protected override async Task PrepareWriterAsync(CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            _writer = new EtcdProvider(members, -1, ttlSeconds: 120);
            await _writer.GrantAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override Task WriteChangeAsync(int key, bool delete, CancellationToken cancellationToken)
    {
        var name = KeyOf(Naming.Service(key % Naming.Services), Naming.ChangeInstance(key));
        return delete ? _writer!.DeleteAsync(name, cancellationToken) : _writer!.PutAsync(name, cancellationToken);
    }

    protected override IProvider NewProvider(int index, int ttlSeconds, Func<int, string>? idOf) =>
        new EtcdProvider(members, index, ttlSeconds, idOf);

    protected override void DisposeWriter() => _writer?.Dispose();

    private static ByteString KeyOf(string service, string id) => ByteString.CopyFromUtf8(Prefix + service + "/" + id);

    protected override async Task WatchLoopAsync(int watcher, WatchRecorder recorder, TaskCompletionSource live, CancellationToken cancellationToken)
    {
        var member = WatcherMember(watcher, members.Count);
        var connection = new GrpcConnection(members[member]);
        try
        {
            long nextRevision = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if (nextRevision == 0)
                    {
                        // The full list first, as a consumer starts; the watch continues from the revision after it.
                        var list = await connection.UnaryAsync(
                            "/etcdserverpb.KV/Range", new RangeRequest { Key = PrefixKey, RangeEnd = PrefixEnd }, RangeResponse.Parser, cancellationToken).ConfigureAwait(false);
                        nextRevision = list.Header.Revision + 1;
                    }

                    var create = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = PrefixKey, RangeEnd = PrefixEnd, StartRevision = nextRevision } };
                    using var call = await connection.DuplexAsync("/etcdserverpb.Watch/Watch", create, WatchResponse.Parser, cancellationToken).ConfigureAwait(false);
                    while (await call.ReadAsync(cancellationToken).ConfigureAwait(false) is { } response)
                    {
                        var now = Stopwatch.GetTimestamp();
                        if (response.Created)
                        {
                            live.TrySetResult();
                        }

                        if (response.Canceled)
                        {
                            throw new GrpcException("Watch", "canceled: " + response.CancelReason);
                        }

                        foreach (var change in response.Events)
                        {
                            var key = change.Kv.Key.Span;
                            var id = Encoding.UTF8.GetString(key[(key.LastIndexOf((byte)'/') + 1)..]);
                            if (change.Type == Event.Types.EventType.Delete)
                            {
                                recorder.OnDelete(id, now);
                            }
                            else
                            {
                                recorder.OnUpsert(id, now);
                            }

                            nextRevision = change.Kv.ModRevision + 1;
                        }
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or GrpcException && !cancellationToken.IsCancellationRequested)
                {
                    if (members.Count > 1)
                    {
                        // The member failed: resume at the next one from the same revision.
                        connection.Dispose();
                        member = (member + 1) % members.Count;
                        connection = new GrpcConnection(members[member]);
                    }
                }

                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            connection.Dispose();
        }
    }

    /// <summary>One provider process: its own connection, one lease, its instances.</summary>
    private sealed class EtcdProvider : IProvider
    {
        private readonly IReadOnlyList<Uri> _members;
        private GrpcConnection _connection;
        private int _member;
        private readonly int _index;
        private readonly int _ttlSeconds;
        private readonly Func<int, string> _idOf;
        private readonly List<ByteString> _keys = [];
        private long _lease;

        public EtcdProvider(IReadOnlyList<Uri> members, int index, int ttlSeconds, Func<int, string>? idOf = null)
        {
            _members = members;
            _member = ProviderMember(index, members.Count);
            _connection = new GrpcConnection(members[_member]);
            _index = index;
            _ttlSeconds = ttlSeconds;
            _idOf = idOf ?? (i => Naming.ProviderInstance(index, i));
        }

        public async Task GrantAsync(CancellationToken cancellationToken)
        {
            var granted = await _connection.UnaryAsync(
                "/etcdserverpb.Lease/LeaseGrant", new LeaseGrantRequest { TTL = _ttlSeconds }, LeaseGrantResponse.Parser, cancellationToken).ConfigureAwait(false);
            _lease = granted.ID;
        }

        public async Task<double[]> RegisterAllAsync(int count, CancellationToken cancellationToken)
        {
            await GrantAsync(cancellationToken).ConfigureAwait(false);
            var latencies = new double[count];
            for (var i = 0; i < count; i++)
            {
                var key = KeyOf(Naming.Service(Naming.ServiceOf(_index, i, count)), _idOf(i));
                var started = Stopwatch.GetTimestamp();
                await PutAsync(key, cancellationToken).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                _keys.Add(key);
            }

            return latencies;
        }

        public Task PutAsync(ByteString key, CancellationToken cancellationToken) =>
            _connection.UnaryAsync("/etcdserverpb.KV/Put", new PutRequest { Key = key, Value = Value, Lease = _lease }, PutResponse.Parser, cancellationToken);

        public Task DeleteAsync(ByteString key, CancellationToken cancellationToken) =>
            _connection.UnaryAsync("/etcdserverpb.KV/DeleteRange", new DeleteRangeRequest { Key = key }, DeleteRangeResponse.Parser, cancellationToken);

        /// <summary>clientv3's keep-alive: a request every TTL/3 on one stream; a lost lease is granted again and the keys put again.</summary>
        public async Task KeepAliveAsync(Action onLost, CancellationToken cancellationToken)
        {
            var interval = TimeSpan.FromSeconds(_ttlSeconds / 3.0);
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var request = new LeaseKeepAliveRequest { ID = _lease };
                    using var call = await _connection.DuplexAsync("/etcdserverpb.Lease/LeaseKeepAlive", request, LeaseKeepAliveResponse.Parser, cancellationToken).ConfigureAwait(false);
                    while (await call.ReadAsync(cancellationToken).ConfigureAwait(false) is { } response)
                    {
                        if (response.TTL <= 0)
                        {
                            for (var i = 0; i < _keys.Count; i++)
                            {
                                onLost();
                            }

                            await GrantAsync(cancellationToken).ConfigureAwait(false);
                            foreach (var key in _keys)
                            {
                                await PutAsync(key, cancellationToken).ConfigureAwait(false);
                            }

                            break;
                        }

                        await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                        call.Send(new LeaseKeepAliveRequest { ID = _lease });
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or GrpcException && !cancellationToken.IsCancellationRequested)
                {
                    if (_members.Count > 1)
                    {
                        // The member failed: keep the lease alive through the next one (leases are the cluster's).
                        _connection.Dispose();
                        _member = (_member + 1) % _members.Count;
                        _connection = new GrpcConnection(_members[_member]);
                    }
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }

        public void Dispose() => _connection.Dispose();
    }
}
