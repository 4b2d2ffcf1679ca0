using System.Collections.Frozen;
using Roster.Core.Model;
using Roster.Core.Serialization;
using Roster.Core.Validation;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>Reading namespaces and services: lists and snapshots.</summary>
internal static class ServiceEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/namespaces", ListNamespaces);
        api.MapGet("/namespaces/{ns}/services", ListServices);
        api.MapGet("/namespaces/{ns}/services/{service}", Snapshot);
        api.MapGet("/namespaces/{ns}/services/{service}/watchers", Watchers);
        api.MapGet("/namespaces/{ns}/services/{service}/leases", Leases);
    }

    private static IResult ListNamespaces(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        var (canRead, problem) = auth.ReadableNamespaces(context);
        if (problem is not null)
        {
            return problem;
        }

        var node = host.Node;
        var state = node.State;
        var selfPreserving = node.Metrics.SelfPreservingNamespaceNames;
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("revision"u8, state.Revision);
            w.WriteStartArray("namespaces"u8);
            foreach (var ns in state.Namespaces.Values.Where(ns => canRead?.Invoke(ns.Name) ?? true))
            {
                w.WriteStartObject();
                w.WriteString("name"u8, ns.Name);
                w.WriteNumber("services"u8, ns.Services.Count);
                var states = InstanceStates.Of(ns.Services.Values.SelectMany(s => s.Instances.Values));
                w.WriteNumber("instances"u8, states.Total);
                states.Write(w);
                w.WriteBoolean("selfPreservation"u8, selfPreserving.Contains(ns.Name));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, state.Revision);
    }

    private static IResult ListServices(string ns, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        if (auth.Admit(context, ns, write: false, Names.CheckName("namespace", ns) is { } error ? Problems.Invalid(error) : null) is { } refused)
        {
            return refused;
        }

        var node = host.Node;
        var state = node.State;
        state.Namespaces.TryGetValue(ns, out var nsState);
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("namespace"u8, ns);
            w.WriteNumber("revision"u8, state.Revision);
            w.WriteStartArray("services"u8);
            foreach (var service in nsState?.Services.Values ?? [])
            {
                w.WriteStartObject();
                w.WriteString("name"u8, service.Name);
                w.WriteNumber("instances"u8, service.Instances.Count);
                w.WriteNumber("sequence"u8, service.Sequence);
                w.WriteString("digest"u8, InstanceDigest.Format(service.Digest));
                InstanceStates.Of(service.Instances.Values).Write(w);
                w.WriteNumber("watchers"u8, node.Watches.Receiving(ns, service.Name).Count());
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, state.Revision);
    }

    private static IResult Snapshot(string ns, string service, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        if (auth.Admit(context, ns, write: false, InstanceEndpoints.CheckRoute(ns, service)) is { } refused)
        {
            return refused;
        }

        // One immutable state: revision, sequence, digest and instances all agree with each other.
        var state = host.Node.State;
        var snapshot = state.FindService(ns, service) ?? ServiceState.Create(service);
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("registryId"u8, host.Node.RegistryId);
            w.WriteString("namespace"u8, ns);
            w.WriteString("service"u8, service);
            w.WriteNumber("revision"u8, state.Revision);
            w.WriteNumber("sequence"u8, snapshot.Sequence);
            w.WriteString("digest"u8, InstanceDigest.Format(snapshot.Digest));
            w.WriteStartArray("instances"u8);
            foreach (var instance in snapshot.Instances.Values)
            {
                RegistryJson.WriteInstance(w, instance);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, state.Revision);
    }

    /// <summary>The watch streams open on this node that receive the service's changes: who, since when, how far.</summary>
    private static IResult Watchers(string ns, string service, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        if (auth.Admit(context, ns, write: false, InstanceEndpoints.CheckRoute(ns, service)) is { } refused)
        {
            return refused;
        }

        var node = host.Node;
        var watches = node.Watches.Receiving(ns, service).Where(w => w.Client is not null).OrderBy(w => w.Client!.Since).ToList();
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("namespace"u8, ns);
            w.WriteString("service"u8, service);
            w.WriteString("nodeId"u8, node.NodeId);
            w.WriteStartArray("watchers"u8);
            foreach (var watch in watches)
            {
                w.WriteStartObject();
                w.WriteString("remoteAddress"u8, watch.Client!.Address);
                w.WriteString("userAgent"u8, watch.Client.UserAgent);
                w.WriteString("since"u8, watch.Client.Since);
                w.WriteNumber("lastRevision"u8, watch.LastDelivered);
                w.WriteStartArray("services"u8);
                foreach (var watched in watch.Services ?? FrozenSet<string>.Empty)
                {
                    w.WriteStringValue(watched);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, node.State.Revision);
    }

    /// <summary>
    /// Each instance's owner node and, for the leases this node holds, seconds until expiry and since the last
    /// renewal (a lease lives on its owner; other nodes say only who owns it). Persistent instances have no lease.
    /// <c>?id=a&amp;id=b</c> limits the answer to those instances (the console asks only for the rows it shows).
    /// </summary>
    private static IResult Leases(string ns, string service, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        if (auth.Admit(context, ns, write: false, InstanceEndpoints.CheckRoute(ns, service)) is { } refused)
        {
            return refused;
        }

        var node = host.Node;
        var state = node.State;
        var snapshot = state.FindService(ns, service) ?? ServiceState.Create(service);
        var ids = context.Request.Query["id"];
        IEnumerable<InstanceRecord> wanted = ids.Count == 0
            ? snapshot.Instances.Values
            : ids.Distinct(StringComparer.Ordinal).Select(id => snapshot.Instances.GetValueOrDefault(id ?? string.Empty)).OfType<InstanceRecord>();
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("nodeId"u8, node.NodeId);
            w.WriteNumber("revision"u8, state.Revision);
            w.WriteStartArray("leases"u8);
            foreach (var instance in wanted)
            {
                w.WriteStartObject();
                w.WriteString("id"u8, instance.Id);
                w.WriteNumber("incarnation"u8, instance.Incarnation);
                w.WriteString("owner"u8, instance.Owner);
                w.WriteBoolean("persistent"u8, instance.Registration.Kind == InstanceKind.Persistent);
                if (node.Leases.TryGetTiming(instance.Incarnation, out var untilExpiry, out var sinceRenewal))
                {
                    w.WriteBoolean("heldHere"u8, true);
                    w.WriteNumber("expiresInSeconds"u8, Math.Round(untilExpiry.TotalSeconds, 1));
                    w.WriteNumber("renewedSecondsAgo"u8, Math.Round(sinceRenewal.TotalSeconds, 1));
                }
                else
                {
                    w.WriteBoolean("heldHere"u8, false);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, state.Revision);
    }
}
