using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Roster.Core.Leases;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Validation;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>
/// The write side of the Consul agent API, over <see cref="ConsulOptions.Namespace"/>:
/// <c>PUT /v1/agent/service/register</c>, <c>PUT /v1/agent/service/deregister/{id}</c> and
/// <c>PUT /v1/agent/check/pass|warn|fail/{check id}</c>. A Consul service registration is a Roster instance (the
/// service's <c>Name</c>, its <c>ID</c> or else the name as the instance id); a TTL check is its lease (its TTL, rounded
/// up to a second); a service without checks is persistent. Script, HTTP, TCP, gRPC and every other check Roster
/// would have to run are refused, never run. <c>pass</c> and <c>warn</c> renew the lease; <c>fail</c> renews it too
/// (the process is alive and says so) and marks the check critical, kept in the metadata entry <c>consul-check</c>
/// apart from an operator's drain, so a later <c>pass</c> clears only what <c>fail</c> set and a drain still sticks.
/// A lease that lapses expires the instance as any Roster lease does. Answers and errors are Consul's: 200 with an
/// empty body, plain-text 400 and 404.
/// </summary>
internal static class ConsulAgentEndpoints
{
    internal const string CheckStateKey = "consul-check";
    private const int MaxBody = 64 * 1024;

    public static void Map(WebApplication app)
    {
        var agent = app.MapGroup("/v1/agent");
        agent.MapPut("/service/register", RegisterAsync);
        agent.MapPut("/service/deregister/{id}", DeregisterAsync);
        agent.MapPut("/check/{verb}/{checkId}", CheckAsync);
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options, IOptions<RegistryLimits> limits)
    {
        var ns = options.Value.Namespace;
        if (ConsulEndpoints.Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        ConsulServiceDefinition? body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (buffer.Length > MaxBody)
            {
                return Text(400, "Request body too large");
            }

            body = JsonSerializer.Deserialize(buffer.ToArray(), ConsulJsonContext.Default.ConsulServiceDefinition);
        }
        catch (JsonException e)
        {
            return Text(400, "Request decode failed: " + e.Message);
        }

        if (body is null || string.IsNullOrEmpty(body.Name))
        {
            return Text(400, "Missing service name");
        }

        var checks = (body.Checks ?? []).Concat(body.Check is null ? [] : [body.Check]).ToList();
        if (checks.FirstOrDefault(c => c.RunsSomething) is { } runs)
        {
            return Text(400, $"Invalid check: Roster never runs health checks (this one is {runs.Kind}); register with a TTL check and pass it");
        }

        TimeSpan? ttl = null;
        foreach (var check in checks)
        {
            if (check.TTL is not { Length: > 0 } text || GoDuration.TryParse(text) is not { } parsed || parsed <= TimeSpan.Zero)
            {
                return Text(400, "Invalid check: a TTL check needs a TTL such as \"10s\"");
            }

            ttl = ttl is null || parsed < ttl ? parsed : ttl;
        }

        var id = string.IsNullOrEmpty(body.ID) ? body.Name : body.ID;
        if (Names.CheckName("service", body.Name) is { } nameError)
        {
            return Text(400, "Invalid service name: " + nameError.Message);
        }

        if (Names.CheckInstanceId("id", id) is { } idError)
        {
            return Text(400, "Invalid service ID: " + idError.Message);
        }

        var metadata = new Dictionary<string, string>(body.Meta ?? [], StringComparer.Ordinal);
        if (metadata.Remove(CheckStateKey) | metadata.Remove("tags"))
        {
            return Text(400, $"Invalid service meta: '{CheckStateKey}' and 'tags' are Roster's");
        }

        if (body.Tags is { Count: > 0 } tags)
        {
            metadata["tags"] = string.Join(',', tags);
        }

        var address = string.IsNullOrEmpty(body.Address) ? context.Connection.RemoteIpAddress?.MapToIPv4().ToString() : body.Address;
        var input = new RegistrationInput(
            address, body.Port, null, null, null, body.Weights?.Passing, metadata,
            ttl is { } t ? (int)Math.Ceiling(t.TotalSeconds) : null, ttl is null);
        var node = host.Node;
        var (registration, error) = input.Validate(limits.Value, node.Options);
        if (error is not null)
        {
            return Text(400, $"Invalid service {error.Field}: {error.Message}");
        }

        return await SubmitAsync(node, new RegisterChange(new InstanceKey(ns, body.Name, id), registration!, 0), author, context).ConfigureAwait(false);
    }

    private static async Task<IResult> DeregisterAsync(string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options)
    {
        var ns = options.Value.Namespace;
        if (ConsulEndpoints.Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        return Find(host.Node.State, ns, id) is not { } found
            ? Text(404, $"Unknown service ID \"{id}\". Ensure that the service ID is passed, not the service name.")
            : await SubmitAsync(host.Node, new DeregisterChange(new InstanceKey(ns, found.Service, id), 0), author, context).ConfigureAwait(false);
    }

    private static async Task<IResult> CheckAsync(string verb, string checkId, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<ConsulOptions> options)
    {
        if (verb is not ("pass" or "warn" or "fail"))
        {
            return Text(404, $"Unknown check operation \"{verb}\"");
        }

        var ns = options.Value.Namespace;
        if (ConsulEndpoints.Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        // Consul names a service's checks "service:{id}" (one check) or "service:{id}:{n}" (several).
        var id = checkId.StartsWith("service:", StringComparison.Ordinal) ? checkId["service:".Length..] : checkId;
        var node = host.Node;
        var found = Find(node.State, ns, id);
        if (found is null && id.LastIndexOf(':') is var colon and > 0)
        {
            id = id[..colon];
            found = Find(node.State, ns, id);
        }

        if (found is not var (service, instance))
        {
            return Text(404, $"Unknown check ID \"{checkId}\". Ensure that the check ID is passed, not the check name.");
        }

        var key = new InstanceKey(ns, service, id);
        if (instance.Registration.Kind == InstanceKind.Persistent)
        {
            return Text(400, $"CheckID \"{checkId}\" does not have associated TTL: the service was registered without a TTL check");
        }

        if (node.Renew(key, instance.Incarnation) != RenewStatus.Ok)
        {
            return Text(404, $"Unknown check ID \"{checkId}\". Ensure that the check ID is passed, not the check name.");
        }

        var critical = verb == "fail";
        if (IsCritical(instance) == critical)
        {
            return Results.Ok();
        }

        // The check's state changes: the registration is written again with it, keeping its incarnation and lease.
        var pairs = instance.Registration.Metadata.Pairs().Where(p => p.Key != CheckStateKey).ToList();
        if (critical)
        {
            pairs.Add(new(CheckStateKey, "critical"));
        }

        var registration = instance.Registration with { Metadata = InstanceMetadata.From(pairs) };
        return await SubmitAsync(node, new RegisterChange(key, registration, instance.Incarnation), author, context).ConfigureAwait(false);
    }

    /// <summary>Whether the instance's Consul check was last reported failing.</summary>
    internal static bool IsCritical(InstanceRecord instance) =>
        instance.Registration.Metadata.Pairs().Any(p => p.Key == CheckStateKey && p.Value == "critical");

    /// <summary>The instance with Consul service id <paramref name="id"/> in the namespace (Consul ids are unique per agent).</summary>
    private static (string Service, InstanceRecord Instance)? Find(RegistryState state, string ns, string id)
    {
        if (!state.Namespaces.TryGetValue(ns, out var nsState))
        {
            return null;
        }

        foreach (var service in nsState.Services.Values)
        {
            if (service.Instances.TryGetValue(id, out var instance))
            {
                return (service.Name, instance);
            }
        }

        return null;
    }

    private static Task<IResult> SubmitAsync(RegistryNode node, Change change, WriteAuthor? author, HttpContext context) =>
        PlainTextWrites.SubmitAsync(node, change, author, context, Results.Ok(), $"Unknown service ID \"{change.Key.Id}\".", "service");

    private static IResult Text(int status, string message) => PlainTextWrites.Text(status, message);
}

/// <summary>A Consul service definition as clients send it (field names as Consul's, matched case-insensitively).</summary>
internal sealed class ConsulServiceDefinition
{
    public string? ID { get; set; }

    public string? Name { get; set; }

    public List<string>? Tags { get; set; }

    public string? Address { get; set; }

    public int? Port { get; set; }

    public Dictionary<string, string>? Meta { get; set; }

    public ConsulWeights? Weights { get; set; }

    public ConsulCheckDefinition? Check { get; set; }

    public List<ConsulCheckDefinition>? Checks { get; set; }
}

internal sealed class ConsulWeights
{
    public int? Passing { get; set; }

    public int? Warning { get; set; }
}

internal sealed class ConsulCheckDefinition
{
    public string? TTL { get; set; }

    public string? HTTP { get; set; }

    public string? TCP { get; set; }

    public string? GRPC { get; set; }

    public string? UDP { get; set; }

    public string? H2PING { get; set; }

    public string? DockerContainerID { get; set; }

    public string? AliasService { get; set; }

    public string? OSService { get; set; }

    public string? Script { get; set; }

    public List<string>? Args { get; set; }

    [JsonIgnore]
    public string? Kind =>
        HTTP is { Length: > 0 } ? "an HTTP check" : TCP is { Length: > 0 } ? "a TCP check" : GRPC is { Length: > 0 } ? "a gRPC check"
        : UDP is { Length: > 0 } ? "a UDP check" : H2PING is { Length: > 0 } ? "an H2PING check" : DockerContainerID is { Length: > 0 } ? "a Docker check"
        : AliasService is { Length: > 0 } ? "an alias check" : OSService is { Length: > 0 } ? "an OS service check"
        : Script is { Length: > 0 } || Args is { Count: > 0 } ? "a script check" : null;

    [JsonIgnore]
    public bool RunsSomething => Kind is not null;
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ConsulServiceDefinition))]
internal sealed partial class ConsulJsonContext : JsonSerializerContext;
