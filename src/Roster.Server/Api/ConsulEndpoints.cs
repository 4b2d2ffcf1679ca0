using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>Where Consul clients' services live in Roster (<c>Roster:Consul</c>).</summary>
public sealed class ConsulOptions
{
    /// <summary>The Roster namespace the Consul API shows (and, once registration lands, writes). Default <c>default</c>.</summary>
    public string Namespace { get; set; } = "default";

    /// <summary>The datacenter name the API reports. Default <c>dc1</c>, Consul's own default, which clients assume.</summary>
    public string Datacenter { get; set; } = "dc1";
}

/// <summary>
/// The read side of the Consul HTTP API that service-discovery clients use, over one Roster namespace
/// (<see cref="ConsulOptions.Namespace"/>): <c>/v1/catalog/services</c>, <c>/v1/catalog/service/{name}</c>,
/// <c>/v1/health/service/{name}</c> (<c>?passing</c>), <c>/v1/status/leader</c>, <c>/v1/agent/self</c>. Every answer
/// carries <c>X-Consul-Index</c>: the registry's revision (at least 1), which only grows. A query with
/// <c>?index=N</c> blocks (up to <c>wait</c>, default 5 minutes, at most 10) until the namespace (or the service)
/// changes after revision N, through a watch subscription: a blocked query costs nothing until then, and a change
/// after N is never missed (the watch replays it from the node's history). Errors are Consul's: a plain-text body.
/// A Roster instance shows as a Consul service instance: its metadata as <c>ServiceMeta</c>, the metadata entry
/// <c>tags</c> (comma-separated) as <c>ServiceTags</c>, and one check, <c>service:{id}</c>, <c>passing</c> unless
/// the instance is drained or disabled (<c>critical</c>).
/// </summary>
internal static class ConsulEndpoints
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);

    public static void Map(WebApplication app)
    {
        var consul = app.MapGroup("/v1");
        consul.MapGet("/status/leader", Leader);
        consul.MapGet("/agent/self", AgentSelf);
        consul.MapGet("/catalog/services", CatalogServices);
        consul.MapGet("/agent/services", AgentServices);
        consul.MapGet("/catalog/service/{service}", (string service, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options) =>
            ServiceInstances(service, health: false, context, host, auth, options.Value));
        consul.MapGet("/health/service/{service}", (string service, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options) =>
            ServiceInstances(service, health: true, context, host, auth, options.Value));
    }

    private static IResult Leader(RegistryNodeHost host, HttpContext context)
    {
        // Every node of a Roster cluster takes writes: the node asked is as good a "leader" as any.
        var address = context.Connection.LocalIpAddress is { } ip ? $"{ip}:{context.Connection.LocalPort}" : host.Address;
        return Answer(context, host.Node.State.Revision, w => w.WriteStringValue(address));
    }

    private static IResult AgentSelf(RegistryNodeHost host, HttpContext context, IOptions<ConsulOptions> options)
    {
        var node = host.Node;
        return Answer(context, node.State.Revision, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("Config"u8);
            w.WriteString("Datacenter"u8, options.Value.Datacenter);
            w.WriteString("NodeName"u8, node.NodeId);
            w.WriteString("NodeID"u8, node.NodeId);
            w.WriteString("Version"u8, "roster");
            w.WriteBoolean("Server"u8, true);
            w.WriteEndObject();
            w.WriteStartObject("Member"u8);
            w.WriteString("Name"u8, node.NodeId);
            w.WriteString("Addr"u8, context.Connection.LocalIpAddress?.ToString() ?? "127.0.0.1");
            w.WriteNumber("Port"u8, context.Connection.LocalPort);
            w.WriteNumber("Status"u8, 1);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    /// <summary>Every instance of the namespace by its id, as the agent that registered them would list them.</summary>
    private static IResult AgentServices(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns) is { } refused)
        {
            return refused;
        }

        var state = host.Node.State;
        state.Namespaces.TryGetValue(ns, out var nsState);
        return Answer(context, state.Revision, w =>
        {
            w.WriteStartObject();
            foreach (var service in nsState?.Services.Values ?? [])
            {
                foreach (var instance in service.Instances.Values)
                {
                    w.WriteStartObject(instance.Id);
                    w.WriteString("ID"u8, instance.Id);
                    w.WriteString("Service"u8, service.Name);
                    WriteTags(w, "Tags"u8, instance);
                    WriteMeta(w, "Meta"u8, instance);
                    w.WriteString("Address"u8, instance.Registration.Address);
                    w.WriteNumber("Port"u8, instance.Registration.Port);
                    WriteWeights(w, "Weights"u8, instance);
                    w.WriteString("Datacenter"u8, options.Value.Datacenter);
                    w.WriteEndObject();
                }
            }

            w.WriteEndObject();
        });
    }

    private static async Task<IResult> CatalogServices(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns) is { } refused)
        {
            return refused;
        }

        if (ReadBlocking(context) is not { } blocking)
        {
            return BadRequest(context);
        }

        await WaitForChangeAsync(host.Node, ns, null, blocking, context).ConfigureAwait(false);
        var state = host.Node.State;
        state.Namespaces.TryGetValue(ns, out var nsState);
        return Answer(context, state.Revision, w =>
        {
            w.WriteStartObject();
            foreach (var service in nsState?.Services.Values ?? [])
            {
                if (service.Instances.Count == 0)
                {
                    continue;
                }

                w.WriteStartArray(service.Name);
                foreach (var tag in service.Instances.Values.SelectMany(Tags).Distinct(StringComparer.Ordinal))
                {
                    w.WriteStringValue(tag);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        });
    }

    private static async Task<IResult> ServiceInstances(string service, bool health, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, ConsulOptions options)
    {
        var ns = options.Namespace;
        if (Refuse(context, auth, ns) is { } refused)
        {
            return refused;
        }

        if (ReadBlocking(context) is not { } blocking)
        {
            return BadRequest(context);
        }

        var query = context.Request.Query;
        var passingOnly = health && query.ContainsKey("passing") && query["passing"].ToString() is "" or "1" or "true";
        await WaitForChangeAsync(host.Node, ns, service, blocking, context).ConfigureAwait(false);
        var state = host.Node.State;
        var instances = state.FindService(ns, service)?.Instances.Values ?? [];
        return Answer(context, state.Revision, w =>
        {
            w.WriteStartArray();
            foreach (var instance in instances)
            {
                var critical = health ? CriticalBecause(instance) : null;
                if (passingOnly && critical is not null)
                {
                    continue;
                }

                if (health)
                {
                    WriteHealthEntry(w, service, instance, critical, options.Datacenter);
                }
                else
                {
                    WriteCatalogEntry(w, service, instance, options.Datacenter);
                }
            }

            w.WriteEndArray();
        });
    }

    private static void WriteCatalogEntry(Utf8JsonWriter w, string service, InstanceRecord instance, string datacenter)
    {
        var registration = instance.Registration;
        w.WriteStartObject();
        w.WriteString("Node"u8, registration.Address);
        w.WriteString("Address"u8, registration.Address);
        w.WriteString("Datacenter"u8, datacenter);
        w.WriteString("ServiceID"u8, instance.Id);
        w.WriteString("ServiceName"u8, service);
        WriteTags(w, "ServiceTags"u8, instance);
        w.WriteString("ServiceAddress"u8, registration.Address);
        w.WriteNumber("ServicePort"u8, registration.Port);
        WriteMeta(w, "ServiceMeta"u8, instance);
        WriteWeights(w, "ServiceWeights"u8, instance);
        w.WriteNumber("CreateIndex"u8, instance.Incarnation);
        w.WriteNumber("ModifyIndex"u8, instance.Revision);
        w.WriteEndObject();
    }

    private static void WriteHealthEntry(Utf8JsonWriter w, string service, InstanceRecord instance, string? critical, string datacenter)
    {
        var registration = instance.Registration;
        w.WriteStartObject();
        w.WriteStartObject("Node"u8);
        w.WriteString("Node"u8, registration.Address);
        w.WriteString("Address"u8, registration.Address);
        w.WriteString("Datacenter"u8, datacenter);
        w.WriteEndObject();
        w.WriteStartObject("Service"u8);
        w.WriteString("ID"u8, instance.Id);
        w.WriteString("Service"u8, service);
        WriteTags(w, "Tags"u8, instance);
        w.WriteString("Address"u8, registration.Address);
        w.WriteNumber("Port"u8, registration.Port);
        WriteMeta(w, "Meta"u8, instance);
        WriteWeights(w, "Weights"u8, instance);
        w.WriteNumber("CreateIndex"u8, instance.Incarnation);
        w.WriteNumber("ModifyIndex"u8, instance.Revision);
        w.WriteEndObject();
        w.WriteStartArray("Checks"u8);
        w.WriteStartObject();
        w.WriteString("Node"u8, registration.Address);
        w.WriteString("CheckID"u8, "service:" + instance.Id);
        w.WriteString("Name"u8, $"Service '{service}' check");
        w.WriteString("Status"u8, critical is null ? "passing" : "critical");
        w.WriteString("Output"u8, critical ?? "registered in Roster");
        w.WriteString("ServiceID"u8, instance.Id);
        w.WriteString("ServiceName"u8, service);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Why the health API shows the instance <c>critical</c>, or null when it is passing: drained or disabled in Roster,
    /// its Consul check reported failing, or a Eureka status other than <c>UP</c> (the metadata read once).
    /// </summary>
    private static string? CriticalBecause(InstanceRecord instance)
    {
        if (instance.Operator.Drained || instance.Operator.Disabled)
        {
            return instance.Operator.Drained ? "drained in Roster" : "disabled in Roster";
        }

        foreach (var (key, value) in instance.Registration.Metadata.Pairs())
        {
            if (key == ConsulAgentEndpoints.CheckStateKey && value == "critical")
            {
                return "TTL check reported failing";
            }

            if (key == Eureka.EurekaMetadata.Status)
            {
                return "Eureka status reported not UP";
            }
        }

        return null;
    }

    /// <summary>Consul's weights: the instance's effective weight when passing, 1 when warning (Roster has no warning).</summary>
    private static void WriteWeights(Utf8JsonWriter w, ReadOnlySpan<byte> name, InstanceRecord instance)
    {
        w.WriteStartObject(name);
        w.WriteNumber("Passing"u8, instance.EffectiveWeight);
        w.WriteNumber("Warning"u8, 1);
        w.WriteEndObject();
    }

    private static IEnumerable<string> Tags(InstanceRecord instance)
    {
        var reader = new Utf8JsonReader(instance.Registration.Metadata.Utf8Json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("tags"u8))
            {
                reader.Read();
                return reader.GetString()!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }
        }

        return [];
    }

    internal static void WriteTags(Utf8JsonWriter w, ReadOnlySpan<byte> name, InstanceRecord instance)
    {
        w.WriteStartArray(name);
        foreach (var tag in Tags(instance))
        {
            w.WriteStringValue(tag);
        }

        w.WriteEndArray();
    }

    /// <summary>The instance's metadata but the entries Roster keeps for Consul (<c>tags</c>, the check's state).</summary>
    internal static void WriteMeta(Utf8JsonWriter w, ReadOnlySpan<byte> name, InstanceRecord instance)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in instance.Registration.Metadata.Pairs())
        {
            if (key is not ("tags" or ConsulAgentEndpoints.CheckStateKey))
            {
                w.WriteString(key, value);
            }
        }

        w.WriteEndObject();
    }

    private readonly record struct Blocking(long Index, TimeSpan Wait);

    /// <summary><c>index</c> and <c>wait</c> as Consul reads them; null when either is malformed.</summary>
    private static Blocking? ReadBlocking(HttpContext context)
    {
        var query = context.Request.Query;
        var index = 0L;
        if (query["index"].ToString() is { Length: > 0 } given && (!long.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out index) || index < 0))
        {
            return null;
        }

        var wait = DefaultWait;
        if (query["wait"].ToString() is { Length: > 0 } waitText)
        {
            if (GoDuration.TryParse(waitText) is not { } parsed)
            {
                return null;
            }

            wait = parsed > MaxWait ? MaxWait : parsed;
        }

        return new Blocking(index, wait);
    }

    /// <summary>
    /// Returns once the namespace (or <paramref name="service"/>) has a change after <see cref="Blocking.Index"/>, or
    /// the wait (plus up to a sixteenth, as Consul spreads them) has passed. Index 0 does not block; an index this node
    /// cannot resume from (older than its history, or ahead of it) answers at once, so the client reads afresh.
    /// </summary>
    private static async Task WaitForChangeAsync(RegistryNode node, string ns, string? service, Blocking blocking, HttpContext context)
    {
        if (blocking.Index == 0)
        {
            return;
        }

        using var subscription = node.Watches.Subscribe(ns, service is null ? null : [service], blocking.Index, keepAlives: false);
        if (subscription.StartsWithReset || subscription.TakeStartFrames().Any(f => f.Revision > 0))
        {
            return;
        }

        var wait = blocking.Wait + (blocking.Wait / 16 * Random.Shared.NextDouble());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, subscription.Ended);
        timeout.CancelAfter(wait);
        try
        {
            while (await subscription.WaitForFramesAsync(timeout.Token).ConfigureAwait(false))
            {
                while (subscription.TryReadFrame(out var frame))
                {
                    if (frame.Revision > 0)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            // The wait passed (or the client left, or the node is stopping): answer with what there is.
        }
    }

    /// <summary>Consul clients send their token as <c>X-Consul-Token</c> (or <c>?token=</c>); Roster reads bearer tokens.
    /// Refused: 403 with Consul's words.</summary>
    internal static IResult? Refuse(HttpContext context, TokenAuthorizer auth, string ns) => Refuse(context, auth, ns, write: false, out _);

    internal static IResult? Refuse(HttpContext context, TokenAuthorizer auth, string ns, bool write, out Roster.Core.Log.WriteAuthor? author)
    {
        var headers = context.Request.Headers;
        if (headers.Authorization.Count == 0)
        {
            var token = headers["X-Consul-Token"].ToString() is { Length: > 0 } header ? header : context.Request.Query["token"].ToString();
            if (token.Length > 0)
            {
                headers.Authorization = "Bearer " + token;
            }
        }

        author = null;
        var refused = write ? auth.AdmitChange(context, ns, null, out author) : auth.Admit(context, ns, write: false, null);
        return refused is IStatusCodeHttpResult { StatusCode: { } status }
            ? Results.Text(status == StatusCodes.Status401Unauthorized ? "ACL not found\n" : "Permission denied\n", statusCode: status == StatusCodes.Status401Unauthorized ? StatusCodes.Status403Forbidden : status)
            : null;
    }

    private static IResult BadRequest(HttpContext context) =>
        Results.Text(context.Request.Query["wait"].ToString() is { Length: > 0 } wait && GoDuration.TryParse(wait) is null ? "Invalid wait time\n" : "Invalid index\n", statusCode: StatusCodes.Status400BadRequest);

    private static IResult Answer(HttpContext context, long revision, Action<Utf8JsonWriter> write)
    {
        var headers = context.Response.Headers;
        headers["X-Consul-Index"] = Math.Max(1, revision).ToString(CultureInfo.InvariantCulture);
        headers["X-Consul-KnownLeader"] = "true";
        headers["X-Consul-LastContact"] = "0";
        return new JsonResult(StatusCodes.Status200OK, write);
    }
}

/// <summary>Go's duration syntax as Consul's <c>wait</c> takes it: <c>10s</c>, <c>1m30s</c>, <c>250ms</c>.</summary>
internal static class GoDuration
{
    public static TimeSpan? TryParse(string text)
    {
        var total = TimeSpan.Zero;
        var i = 0;
        if (text.Length == 0)
        {
            return null;
        }

        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]) || (i < text.Length && text[i] == 'µ'))
            {
                i++;
            }

            double? unit = text[unitStart..i] switch
            {
                "ns" => 1e-6,
                "us" or "µs" => 1e-3,
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => null,
            };
            if (unit is not { } ms)
            {
                return null;
            }

            total += TimeSpan.FromMilliseconds(number * ms);
        }

        return total;
    }
}
