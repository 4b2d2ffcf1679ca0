using Microsoft.Extensions.Options;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Serialization;
using Roster.Core.StateMachine;
using Roster.Core.Validation;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary><c>/api/v1/namespaces/{ns}/services/{service}/instances/{id}</c>: register, read, operator state, deregister.</summary>
internal static class InstanceEndpoints
{
    private const string Route = "/namespaces/{ns}/services/{service}/instances/{id}";
    private const int MaxRegisterBody = 64 * 1024;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut(Route, RegisterAsync);
        api.MapGet(Route, Get);
        api.MapPatch(Route, PatchAsync);
        api.MapDelete(Route, DeregisterAsync);
    }

    /// <summary>Validates the route's names; null when they are fine.</summary>
    internal static IResult? CheckRoute(string ns, string service, string? id = null)
    {
        var error = Names.CheckName("namespace", ns) ?? Names.CheckName("service", service)
            ?? (id is null ? null : Names.CheckInstanceId("id", id));
        return error is null ? null : Problems.Invalid(error);
    }

    private static async Task<IResult> RegisterAsync(
        string ns, string service, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth,
        IOptions<RegistryLimits> limits)
    {
        if (auth.AdmitChange(context, ns, CheckRoute(ns, service, id), out var author) is { } refused)
        {
            return refused;
        }

        var (body, problem) = await JsonBody.ReadAsync(context, ApiJsonContext.Default.RegisterRequest, MaxRegisterBody).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Check is not null || body.Checks is not null || body.HealthCheck is not null)
        {
            var field = body.Check is not null ? "check" : body.Checks is not null ? "checks" : "healthCheck";
            return Problems.Invalid(field, "Executable health checks are never accepted: liveness comes from lease renewals.");
        }

        if (body.Incarnation is <= 0)
        {
            return Problems.Invalid("incarnation", "incarnation must be a positive number returned by an earlier registration.");
        }

        var node = host.Node;
        var input = new RegistrationInput(
            body.Address, body.Port, body.Scheme, body.Zone, body.Version, body.Weight, body.Metadata, body.TtlSeconds, body.Persistent);
        var (registration, error) = input.Validate(limits.Value, node.Options);
        if (error is not null)
        {
            return Problems.Invalid(error);
        }

        var key = new InstanceKey(ns, service, id);
        return await SubmitAsync(node, new RegisterChange(key, registration!, body.Incarnation ?? 0), key, context, author).ConfigureAwait(false);
    }

    private static IResult Get(string ns, string service, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        if (auth.Admit(context, ns, write: false, CheckRoute(ns, service, id)) is { } refused)
        {
            return refused;
        }

        var state = host.Node.State;
        var instance = state.FindInstance(new InstanceKey(ns, service, id));
        return instance is null
            ? Problems.NotFound("id", $"No instance '{id}' in service '{service}' of namespace '{ns}'.")
            : new JsonResult(StatusCodes.Status200OK, w => RegistryJson.WriteInstance(w, instance, ns, service), state.Revision);
    }

    private static async Task<IResult> PatchAsync(
        string ns, string service, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<RegistryLimits> limits)
    {
        if (auth.AdmitChange(context, ns, CheckRoute(ns, service, id), out var author) is { } refused)
        {
            return refused;
        }

        var (body, problem) = await JsonBody.ReadAsync(context, ApiJsonContext.Default.OperatorRequest, MaxRegisterBody).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        int? weight = null;
        var clearWeight = false;
        switch (body!.Weight.ValueKind)
        {
            case System.Text.Json.JsonValueKind.Undefined:
                break;
            case System.Text.Json.JsonValueKind.Null:
                clearWeight = true;
                break;
            case System.Text.Json.JsonValueKind.Number when body.Weight.TryGetInt32(out var w) && w >= 0 && w <= limits.Value.MaxWeight:
                weight = w;
                break;
            default:
                return Problems.Invalid("weight", $"weight must be a whole number from 0 to {limits.Value.MaxWeight}, or null to clear the override.");
        }

        if (body.Drained is null && body.Disabled is null && weight is null && !clearWeight)
        {
            return Problems.Invalid("body", "Name at least one of drained, disabled or weight.");
        }

        var key = new InstanceKey(ns, service, id);
        var patch = new OperatorPatch(body.Drained, body.Disabled, weight, clearWeight);
        return await SubmitAsync(host.Node, new OperatorChange(key, patch), key, context, author).ConfigureAwait(false);
    }

    private static async Task<IResult> DeregisterAsync(
        string ns, string service, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        if (auth.AdmitChange(context, ns, CheckRoute(ns, service, id), out var author) is { } refused)
        {
            return refused;
        }

        // Parsed here rather than bound, so that "abc", "1e3" or a repeated value get a problem naming the field.
        long? incarnation = null;
        var query = context.Request.Query["incarnation"];
        if (query.Count > 1)
        {
            return Problems.Invalid("incarnation", "incarnation is given more than once.");
        }

        if (query.Count == 1)
        {
            if (!long.TryParse(query[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) || parsed <= 0)
            {
                return Problems.Invalid("incarnation", "incarnation must be a positive whole number, as returned by registration.");
            }

            incarnation = parsed;
        }

        var key = new InstanceKey(ns, service, id);
        return await SubmitAsync(host.Node, new DeregisterChange(key, incarnation ?? 0), key, context, author).ConfigureAwait(false);
    }

    private static async Task<IResult> SubmitAsync(RegistryNode node, Change change, InstanceKey key, HttpContext context, WriteAuthor? author)
    {
        ApplyOutcome outcome;
        try
        {
            outcome = await node.SubmitAsync(change, author, context.RequestAborted).ConfigureAwait(false);
        }
        catch (NodeNotReadyException)
        {
            return Problems.NotReady();
        }
        catch (TimeoutException)
        {
            return Problems.Timeout();
        }
        catch (StorageUnavailableException unavailable)
        {
            return Problems.StorageUnavailable(unavailable.DiskFull);
        }
        catch (LogUnavailableException)
        {
            return Problems.BusUnavailable();
        }

        var instance = outcome.Instance;
        return outcome.Status switch
        {
            OutcomeStatus.NotFound => Problems.NotFound("id", $"No instance '{key.Id}' in service '{key.Service}' of namespace '{key.Namespace}'."),
            OutcomeStatus.StaleIncarnation => Problems.StaleIncarnation(instance!.Incarnation),
            OutcomeStatus.Deleted when change is DeregisterChange => new NoContentWithRevision(outcome.Revision),
            OutcomeStatus.Created => new JsonResult(
                StatusCodes.Status201Created, w => RegistryJson.WriteInstance(w, instance!, key.Namespace, key.Service), outcome.Revision),
            _ => new JsonResult(
                StatusCodes.Status200OK, w => RegistryJson.WriteInstance(w, instance!, key.Namespace, key.Service), outcome.Revision),
        };
    }

    /// <summary>204 with <c>Roster-Revision</c>, which every write answers with.</summary>
    private sealed class NoContentWithRevision(long revision) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => StatusCodes.Status204NoContent;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status204NoContent;
            httpContext.Response.Headers["Roster-Revision"] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }
    }
}
