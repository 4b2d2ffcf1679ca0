using System.Collections;
using System.Reflection;
using Roster.Core.Node;
using Roster.Core.Validation;
using Roster.Server.Api;
using Roster.Server.Security;

namespace Roster.Server.Hosting;

/// <summary>
/// Refuses, at start, any key under <c>Roster:</c> that no setting reads: a typo in a registry's settings
/// (<c>Roster:Node:DefaulTtl</c>) would otherwise leave the default in force without a word. The known keys
/// are the public settable properties of the options classes each section binds to.
/// </summary>
internal static class SettingsCheck
{
    private static readonly Dictionary<string, Type[]> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Storage"] = [typeof(StorageOptions)],
        ["Node"] = [typeof(RegistryNodeOptions)],
        ["Limits"] = [typeof(RegistryLimits), typeof(RequestBodyLimits)],
        ["Auth"] = [typeof(AuthOptions)],
        ["RateLimit"] = [typeof(RateLimitOptions)],
        ["Cluster"] = [typeof(Roster.Cluster.BusOptions)],
        ["Telemetry"] = [typeof(Roster.Server.Diagnostics.TelemetryExportOptions)],
        ["Tls"] = [typeof(TlsOptions)],
        ["Admission"] = [typeof(AdmissionOptions)],
        ["Health"] = [typeof(HealthOptions)],
        ["Consul"] = [typeof(Roster.Server.Api.ConsulOptions)],
        ["Eureka"] = [typeof(Roster.Server.Api.Eureka.EurekaOptions)],
    };

    /// <summary>Every unknown key, as a message naming its full path; empty when all are known.</summary>
    public static List<string> FindUnknownKeys(IConfigurationSection roster)
    {
        var errors = new List<string>();
        foreach (var section in roster.GetChildren())
        {
            if (Sections.TryGetValue(section.Key, out var types))
            {
                CheckObject(section, types, errors);
            }
            else
            {
                errors.Add($"'{section.Path}' is not a setting (the sections are {string.Join(", ", Sections.Keys.Select(k => "Roster:" + k))}).");
            }
        }

        return errors;
    }

    private static void CheckObject(IConfigurationSection section, Type[] types, List<string> errors)
    {
        var properties = types.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Where(p => p.SetMethod is { IsPublic: true } || IsListFilledByBinding(p))
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                errors.Add($"'{child.Path}' is not a setting (known under {section.Path}: {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))}).");
                continue;
            }

            CheckValue(child, property.PropertyType, errors);
        }
    }

    /// <summary>A get-only <c>IList&lt;T&gt;</c> property: configuration binding adds its items.</summary>
    private static bool IsListFilledByBinding(PropertyInfo property) =>
        property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() == typeof(IList<>);

    private static void CheckValue(IConfigurationSection section, Type type, List<string> errors)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return;
        }

        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType)
        {
            var element = type.GetGenericArguments()[0];
            foreach (var item in children)
            {
                if (!int.TryParse(item.Key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    errors.Add($"'{item.Path}' is not a setting: {section.Path} is a list, numbered from 0.");
                    continue;
                }

                CheckValue(item, element, errors);
            }

            return;
        }

        if (type.IsClass && type != typeof(string))
        {
            CheckObject(section, [type], errors);
            return;
        }

        errors.Add($"'{children[0].Path}' is not a setting: {section.Path} takes a single value.");
    }
}
