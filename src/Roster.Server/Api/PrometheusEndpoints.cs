using System.Text;
using System.Text.Json;
using Roster.Core.Model;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>
/// Prometheus HTTP service discovery (<c>http_sd_configs</c>): <c>GET /api/v1/prometheus/targets?namespace=&amp;service=</c>
/// answers every instance as a target group of its own, <c>address:port</c>, with labels Prometheus keeps for
/// relabeling: <c>__meta_roster_namespace</c>, <c>_service</c>, <c>_instance_id</c>, <c>_zone</c>, <c>_version</c>,
/// <c>_weight</c>, <c>_drained</c>, <c>_disabled</c> and <c>_metadata_KEY</c> (the key made a valid label name), and
/// <c>__scheme__</c> for https instances. Drained and disabled instances are listed too, labelled: an instance taken
/// out of traffic still runs and still wants scraping. Without <c>namespace</c>, every namespace the token may read.
/// </summary>
internal static class PrometheusEndpoints
{
    public static void Map(RouteGroupBuilder api) => api.MapGet("/prometheus/targets", Targets);

    private static IResult Targets(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth)
    {
        var (scope, refused) = ReadScope.From(context, auth);
        if (refused is not null)
        {
            return refused;
        }

        var (ns, service, canRead) = scope;
        var state = host.Node.State;
        var namespaces = ns.Length > 0
            ? state.Namespaces.TryGetValue(ns, out var one) ? [one] : []
            : state.Namespaces.Values.Where(n => canRead?.Invoke(n.Name) ?? true);
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var nsState in namespaces)
            {
                foreach (var serviceState in nsState.Services.Values)
                {
                    if (service.Length > 0 && serviceState.Name != service)
                    {
                        continue;
                    }

                    foreach (var instance in serviceState.Instances.Values)
                    {
                        WriteTarget(w, nsState.Name, serviceState.Name, instance);
                    }
                }
            }

            w.WriteEndArray();
        }, state.Revision);
    }

    private static void WriteTarget(Utf8JsonWriter w, string ns, string service, InstanceRecord instance)
    {
        var registration = instance.Registration;
        w.WriteStartObject();
        w.WriteStartArray("targets"u8);
        w.WriteStringValue(registration.Address.Contains(':', StringComparison.Ordinal)
            ? $"[{registration.Address}]:{registration.Port}"
            : $"{registration.Address}:{registration.Port}");
        w.WriteEndArray();
        w.WriteStartObject("labels"u8);
        if (registration.Scheme == "https")
        {
            w.WriteString("__scheme__"u8, "https");
        }

        w.WriteString("__meta_roster_namespace"u8, ns);
        w.WriteString("__meta_roster_service"u8, service);
        w.WriteString("__meta_roster_instance_id"u8, instance.Id);
        w.WriteString("__meta_roster_zone"u8, registration.Zone);
        w.WriteString("__meta_roster_version"u8, registration.Version);
        w.WriteString("__meta_roster_weight"u8, instance.EffectiveWeight.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("__meta_roster_drained"u8, instance.Operator.Drained ? "true" : "false");
        w.WriteString("__meta_roster_disabled"u8, instance.Operator.Disabled ? "true" : "false");
        foreach (var (key, value) in registration.Metadata.Pairs())
        {
            w.WriteString("__meta_roster_metadata_" + LabelName(key), value);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A metadata key as Prometheus allows in a label name: every character outside [A-Za-z0-9_] becomes <c>_</c>
    /// (as Prometheus's own Consul discovery does).</summary>
    internal static string LabelName(string key)
    {
        var name = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return name.ToString();
    }
}
