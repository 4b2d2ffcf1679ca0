using System.Globalization;
using System.Text.Json;
using Roster.Core.StateMachine;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>
/// <c>GET /api/v1/audit?namespace=&amp;service=&amp;since=&amp;limit=</c>: who changed what, read from the changes the log
/// carries (each with the node that accepted it, its time and who asked for it). Every node applies the same log, so
/// every node of a cluster gives the same entries for the same revisions; it reaches back as far as the node's change
/// history (<c>Roster:Node:WatchHistorySize</c> changes, kept across restarts).
/// </summary>
internal static class AuditEndpoints
{
    private const int DefaultLimit = 1000;
    private const int MaxLimit = 10_000;

    public static void Map(RouteGroupBuilder api) => api.MapGet("/audit", Audit);

    private static IResult Audit(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        var (scope, refused) = ReadScope.From(context, auth);
        if (refused is not null)
        {
            return refused;
        }

        if (scope.Namespace.Length == 0 && scope.CanRead is not null)
        {
            return Problems.Result(StatusCodes.Status403Forbidden, "forbidden", "Forbidden",
                "The token may not read every namespace: name one (namespace=...).", "namespace");
        }

        var (ns, service) = (scope.Namespace, scope.Service);
        var query = context.Request.Query;
        if (!TryReadNumber(query["since"].ToString(), 0, long.MaxValue, out var since))
        {
            return Problems.Invalid("since", "since must be a revision: a whole number, 0 or more.");
        }

        if (!TryReadNumber(query["limit"].ToString(), 1, MaxLimit, out var limit, DefaultLimit))
        {
            return Problems.Invalid("limit", $"limit must be a whole number from 1 to {MaxLimit}.");
        }

        var (changes, coveredFrom, revision) = host.Node.Watches.ReadHistory(
            since, ns.Length > 0 ? ns : null, service.Length > 0 ? service : null, (int)limit);
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("revision"u8, revision);
            // Changes at or before this revision are no longer held: asking from further back misses them.
            w.WriteNumber("coveredFrom"u8, coveredFrom);
            w.WriteBoolean("complete"u8, since >= coveredFrom);
            w.WriteStartArray("entries"u8);
            foreach (var change in changes)
            {
                WriteEntry(w, change);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, revision);
    }

    private static void WriteEntry(Utf8JsonWriter w, ChangeEvent change)
    {
        var instance = change.Instance;
        w.WriteStartObject();
        w.WriteNumber("revision"u8, change.Revision);
        if (change.AcceptedAt > 0)
        {
            w.WriteString("time"u8, DateTimeOffset.FromUnixTimeMilliseconds(change.AcceptedAt));
        }
        else
        {
            w.WriteNull("time"u8);
        }

        w.WriteString("namespace"u8, change.Namespace);
        w.WriteString("service"u8, change.Service);
        w.WriteString("id"u8, instance.Id);
        w.WriteNumber("incarnation"u8, instance.Incarnation);
        w.WriteString("action"u8, ActionOf(change));
        var source = change.Source;
        WriteStringOrNull(w, "node"u8, source?.Node);
        WriteStringOrNull(w, "principal"u8, source?.Author?.Principal);
        WriteStringOrNull(w, "client"u8, source?.Author?.ClientAddress is { Length: > 0 } address ? address : null);
        if (change.Kind == ChangeEventKind.Upsert)
        {
            // What the instance is after the change: enough to read a drain, a weight override or a new address.
            w.WriteString("address"u8, $"{instance.Registration.Address}:{instance.Registration.Port}");
            w.WriteBoolean("drained"u8, instance.Operator.Drained);
            w.WriteBoolean("disabled"u8, instance.Operator.Disabled);
            w.WriteNumber("effectiveWeight"u8, instance.EffectiveWeight);
        }

        w.WriteEndObject();
    }

    /// <summary>register, operator (drain, disable, weight), deregister or expire; "upsert"/"delete" for changes recorded
    /// before the log said which command made them.</summary>
    private static string ActionOf(ChangeEvent change) => change.Source?.Cause switch
    {
        ChangeCause.Register => "register",
        ChangeCause.Operator => "operator",
        ChangeCause.Deregister => "deregister",
        ChangeCause.Expire => "expire",
        _ => change.Kind == ChangeEventKind.Delete ? (change.Reason == DeleteReason.Expired ? "expire" : "deregister") : "upsert",
    };

    private static void WriteStringOrNull(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static bool TryReadNumber(string text, long min, long max, out long value, long whenAbsent = 0)
    {
        value = whenAbsent;
        return text.Length == 0
            || (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }
}
