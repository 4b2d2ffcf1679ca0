using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Roster.Testing;

/// <summary>An endpoint of an EndpointSlice, with its conditions as Kubernetes reports them (null: not reported).</summary>
public sealed record SliceEndpoint(string Address, bool? Ready = true, bool? Serving = null, bool? Terminating = null, string? Zone = null, string? Pod = null);

/// <summary>
/// The part of a Kubernetes API server that EndpointSlice consumers use, on 127.0.0.1, since no API server can be
/// installed here: <c>GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices</c> with a <c>labelSelector</c>, as a
/// list (JSON, with the collection's <c>resourceVersion</c>) or, with <c>watch=true</c>, as a stream of JSON lines
/// (<c>ADDED</c>/<c>MODIFIED</c>/<c>DELETED</c> since the given <c>resourceVersion</c>, then live), and the API server's
/// answer to a version older than it keeps: an <c>ERROR</c> event holding a <c>410 Expired</c> Status. It records the
/// requests' <c>User-Agent</c>, so a test can show which client spoke to it. It can be stopped (connections reset) and
/// started again on the same port.
/// </summary>
public sealed class EndpointSliceApiServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Namespace, string Name), JsonObject> _slices = [];
    private readonly List<(long Version, string Namespace, string Service, string Line)> _history = [];
    private readonly List<Watch> _watches = [];
    private readonly List<string> _userAgents = [];
    private long _version = 1000;
    private long _keptFrom;
    private WebApplication? _app;

    private EndpointSliceApiServer(int port)
    {
        Port = port;
        Address = new Uri($"http://127.0.0.1:{port}");
    }

    public int Port { get; }

    public Uri Address { get; }

    public int Lists { get; private set; }

    public int WatchRequests { get; private set; }

    /// <summary>The watches open now.</summary>
    public int OpenWatches
    {
        get
        {
            lock (_lock)
            {
                return _watches.Count;
            }
        }
    }

    public IReadOnlyList<string> UserAgents
    {
        get
        {
            lock (_lock)
            {
                return [.. _userAgents];
            }
        }
    }

    public static async Task<EndpointSliceApiServer> StartAsync()
    {
        var server = new EndpointSliceApiServer(LoopbackPorts.Free());
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Address.ToString());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        app.MapGet("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", ServeAsync);
        await app.StartAsync();
        _app = app;
    }

    /// <summary>Stops serving: every watch's connection is reset, new connections are refused.</summary>
    public async Task StopAsync()
    {
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Context.Abort();
            }
        }

        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Creates or replaces the slice <paramref name="name"/> of <paramref name="service"/>; returns its resourceVersion.</summary>
    public long Apply(string @namespace, string service, string name, int port, params SliceEndpoint[] endpoints)
    {
        lock (_lock)
        {
            var version = ++_version;
            var slice = new JsonObject
            {
                ["apiVersion"] = "discovery.k8s.io/v1",
                ["kind"] = "EndpointSlice",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = @namespace,
                    ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture),
                    ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service },
                },
                ["addressType"] = "IPv4",
                ["endpoints"] = new JsonArray([.. endpoints.Select(Endpoint)]),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["protocol"] = "TCP" }),
            };
            var type = _slices.ContainsKey((@namespace, name)) ? "MODIFIED" : "ADDED";
            _slices[(@namespace, name)] = slice;
            Record(version, @namespace, service, type, slice);
            return version;
        }
    }

    public long Delete(string @namespace, string name)
    {
        lock (_lock)
        {
            var slice = _slices[(@namespace, name)];
            _slices.Remove((@namespace, name));
            var version = ++_version;
            var deleted = (JsonObject)slice.DeepClone();
            deleted["metadata"]!["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
            Record(version, @namespace, ServiceOf(slice), "DELETED", deleted);
            return version;
        }
    }

    /// <summary>Forgets every change made so far, as etcd's compaction does for an API server: a watch from an older version gets 410.</summary>
    public void ForgetHistory()
    {
        lock (_lock)
        {
            _keptFrom = _version;
            _history.Clear();
        }
    }

    /// <summary>
    /// While true, changes are kept in the history but not sent to the watches open now (as a watch that has fallen
    /// behind): a watch that resumes later gets them from the history, unless it was forgotten.
    /// </summary>
    public bool HoldWatchEvents { get; set; }

    /// <summary>Ends every open watch normally, as an API server does when a watch's time is up.</summary>
    public void EndWatches()
    {
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Lines.Writer.TryComplete();
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task ServeAsync(HttpContext context, string ns)
    {
        var query = context.Request.Query;
        var service = query["labelSelector"].ToString() is var selector && selector.StartsWith("kubernetes.io/service-name=", StringComparison.Ordinal)
            ? selector["kubernetes.io/service-name=".Length..]
            : null;
        if (service is null)
        {
            context.Response.StatusCode = 400;
            return;
        }

        var watching = query["watch"].ToString() is "true" or "1";
        Watch? watch = null;
        string? body = null;
        lock (_lock)
        {
            _userAgents.Add(context.Request.Headers.UserAgent.ToString());
            if (!watching)
            {
                Lists++;
                body = new JsonObject
                {
                    ["apiVersion"] = "discovery.k8s.io/v1",
                    ["kind"] = "EndpointSliceList",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray([.. _slices.Where(s => s.Key.Namespace == ns && ServiceOf(s.Value) == service).Select(s => s.Value.DeepClone())]),
                }.ToJsonString();
            }
            else
            {
                WatchRequests++;
                var from = long.Parse(query["resourceVersion"].ToString(), CultureInfo.InvariantCulture);
                watch = new Watch(context, ns, service);
                if (from < _keptFrom)
                {
                    watch.Lines.Writer.TryWrite(new JsonObject
                    {
                        ["type"] = "ERROR",
                        ["object"] = new JsonObject
                        {
                            ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "Expired", ["code"] = 410,
                            ["message"] = $"too old resource version: {from} ({_keptFrom})",
                        },
                    }.ToJsonString());
                    watch.Lines.Writer.TryComplete();
                }
                else
                {
                    foreach (var change in _history.Where(h => h.Version > from && h.Namespace == ns && h.Service == service))
                    {
                        watch.Lines.Writer.TryWrite(change.Line);
                    }

                    _watches.Add(watch);
                }
            }
        }

        context.Response.ContentType = "application/json";
        if (watch is null)
        {
            await context.Response.WriteAsync(body!);
            return;
        }

        try
        {
            await context.Response.StartAsync();
            var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            using var abortOnStop = stopping.Register(context.Abort); // the server going away resets its watches
            await foreach (var line in watch.Lines.Reader.ReadAllAsync(aborted.Token))
            {
                await context.Response.WriteAsync(line + "\n", aborted.Token);
                await context.Response.Body.FlushAsync(aborted.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_lock)
            {
                _watches.Remove(watch);
            }
        }
    }

    private void Record(long version, string @namespace, string service, string type, JsonObject slice)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = slice.DeepClone() }.ToJsonString();
        _history.Add((version, @namespace, service, line));
        if (HoldWatchEvents)
        {
            return;
        }

        foreach (var watch in _watches.Where(w => w.Namespace == @namespace && w.Service == service))
        {
            watch.Lines.Writer.TryWrite(line);
        }
    }

    private static string ServiceOf(JsonObject slice) => slice["metadata"]!["labels"]!["kubernetes.io/service-name"]!.GetValue<string>();

    private static JsonObject Endpoint(SliceEndpoint endpoint)
    {
        var conditions = new JsonObject();
        if (endpoint.Ready is { } ready)
        {
            conditions["ready"] = ready;
        }

        if (endpoint.Serving is { } serving)
        {
            conditions["serving"] = serving;
        }

        if (endpoint.Terminating is { } terminating)
        {
            conditions["terminating"] = terminating;
        }

        var json = new JsonObject { ["addresses"] = new JsonArray(endpoint.Address), ["conditions"] = conditions };
        if (endpoint.Zone is { } zone)
        {
            json["zone"] = zone;
        }

        if (endpoint.Pod is { } pod)
        {
            json["targetRef"] = new JsonObject { ["kind"] = "Pod", ["name"] = pod };
        }

        return json;
    }

    private sealed class Watch(HttpContext context, string @namespace, string service)
    {
        public HttpContext Context { get; } = context;

        public string Namespace { get; } = @namespace;

        public string Service { get; } = service;

        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
    }
}
