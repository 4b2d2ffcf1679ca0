using Roster.Core.Leases;
using Roster.Core.Model;
using Roster.Core.Validation;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary><c>POST /api/v1/leases/renew</c>: renews all of a process's instances in one request.</summary>
internal static class LeaseEndpoints
{
    private const int MaxRenewBody = 8 * 1024 * 1024;
    private const int MaxItems = 50_000;

    public static void Map(RouteGroupBuilder api) => api.MapPost("/leases/renew", RenewAsync);

    private static async Task<IResult> RenewAsync(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        // Who is calling comes before the body: an anonymous caller must not make the node read 8 MiB.
        var (token, unauthenticated) = auth.Authenticate(context);
        if (unauthenticated is not null)
        {
            JsonBody.CloseAfterResponse(context);
            return unauthenticated;
        }

        var (body, problem) = await JsonBody.ReadAsync(context, ApiJsonContext.Default.RenewRequest, MaxRenewBody, streamLarge: true).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        List<RenewItem?>? items = body!.Leases;
        if (items is null)
        {
            return Problems.Invalid("leases", "leases is required: a list of {namespace, service, id, incarnation}.");
        }

        if (items.Count > MaxItems)
        {
            return Problems.Invalid("leases", $"At most {MaxItems} leases per request.");
        }

        // Validate everything first: a bad item refuses the whole request and renews nothing.
        string? authorizedNamespace = null;
        var newest = 0L;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item is null)
            {
                return Problems.Invalid($"leases[{i}]", "Each lease must be an object {namespace, service, id, incarnation}, not null.");
            }

            if (CheckItem(i, item) is { } error)
            {
                return Problems.Invalid(error);
            }

            if (item.Incarnation <= 0)
            {
                return Problems.Invalid($"leases[{i}].incarnation", "incarnation must be a positive number returned by registration.");
            }

            newest = Math.Max(newest, item.Incarnation);

            // A batch is usually one namespace: authorize each run of the same namespace once.
            if (item.Namespace != authorizedNamespace)
            {
                if (TokenAuthorizer.Authorize(token, item.Namespace!, write: true) is { } refused)
                {
                    return refused;
                }

                authorizedNamespace = item.Namespace;
            }
        }

        var node = host.Node;
        if (!node.IsReady)
        {
            return Problems.NotReady();
        }

        // Incarnations this node has not applied yet: the client failed over from a node that is ahead.
        // Catch up before answering "unknown" for them.
        if (newest > node.State.Revision)
        {
            await node.CatchUpToAsync(newest, context.RequestAborted).ConfigureAwait(false);
        }

        var results = new RenewStatus[items.Count];
        int ok = 0, unknown = 0, stale = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i]!; // checked above
            results[i] = node.Renew(new InstanceKey(item.Namespace!, item.Service!, item.Id!), item.Incarnation);
            switch (results[i])
            {
                case RenewStatus.Ok: ok++; break;
                case RenewStatus.Unknown: unknown++; break;
                default: stale++; break;
            }
        }

        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("ok"u8, ok);
            w.WriteNumber("unknown"u8, unknown);
            w.WriteNumber("staleIncarnation"u8, stale);
            w.WriteStartArray("results"u8);
            foreach (var status in results)
            {
                w.WriteStringValue(status switch
                {
                    RenewStatus.Ok => "ok"u8,
                    RenewStatus.Unknown => "unknown"u8,
                    _ => "stale-incarnation"u8,
                });
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>An item's names checked; only a bad item pays for building its indexed field names.</summary>
    private static FieldError? CheckItem(int index, RenewItem item) =>
        Names.CheckName("namespace", item.Namespace) is null && Names.CheckName("service", item.Service) is null && Names.CheckInstanceId("id", item.Id) is null
            ? null
            : Names.CheckName($"leases[{index}].namespace", item.Namespace)
                ?? Names.CheckName($"leases[{index}].service", item.Service)
                ?? Names.CheckInstanceId($"leases[{index}].id", item.Id);
}
