using System.Globalization;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Validation;

namespace Roster.Server.Api.Eureka;

/// <summary>A port as Eureka clients send it: a number, a string, or <c>{"$": 8080, "@enabled": "true"}</c>.</summary>
internal readonly record struct EurekaPort(string? Value, bool? Enabled);

/// <summary>
/// An instance registration as Eureka clients send it (<c>POST /eureka/apps/{app}</c>, JSON or XML), read the lenient
/// way Eureka reads it: numbers as numbers or strings, ports with or without <c>@enabled</c>, <c>dataCenterInfo</c>
/// with or without <c>@class</c> (and not needed), the Java client's <c>"@class"</c> entry in <c>metadata</c> skipped.
/// </summary>
internal sealed record EurekaRegistration(
    string? InstanceId,
    string? App,
    string? HostName,
    string? IpAddr,
    string? Status,
    EurekaPort? Port,
    EurekaPort? SecurePort,
    string? DurationInSecs,
    IReadOnlyList<KeyValuePair<string, string>> Metadata,
    string? VipAddress,
    string? SecureVipAddress,
    string? HomePageUrl,
    string? StatusPageUrl,
    string? HealthCheckUrl)
{
    /// <summary>Eureka's default lease: 90 seconds.</summary>
    public const int DefaultLeaseSeconds = 90;

    /// <summary>Reads <c>{"instance": {...}}</c> (or the instance object alone). Throws <see cref="JsonException"/> when malformed.</summary>
    public static EurekaRegistration ReadJson(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("the body is not a JSON object");
        }

        var instance = root.TryGetProperty("instance", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : root;
        var metadata = new List<KeyValuePair<string, string>>();
        if (instance.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in meta.EnumerateObject())
            {
                if (entry.Name != "@class")
                {
                    metadata.Add(new(entry.Name, Text(entry.Value) ?? throw new JsonException($"metadata.{entry.Name} is not a string")));
                }
            }
        }

        var duration = instance.TryGetProperty("leaseInfo", out var lease) && lease.ValueKind == JsonValueKind.Object ? Text(lease, "durationInSecs") : null;
        return new EurekaRegistration(
            Text(instance, "instanceId"), Text(instance, "app"), Text(instance, "hostName"), Text(instance, "ipAddr"),
            Text(instance, "status"), Port(instance, "port"), Port(instance, "securePort"), duration, metadata,
            Text(instance, "vipAddress"), Text(instance, "secureVipAddress"), Text(instance, "homePageUrl"),
            Text(instance, "statusPageUrl"), Text(instance, "healthCheckUrl"));

        static string? Text(JsonElement element, string name = "") =>
            name.Length > 0 && !element.TryGetProperty(name, out element) ? null
            : element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Number => element.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };

        static EurekaPort? Port(JsonElement instance, string name)
        {
            if (!instance.TryGetProperty(name, out var port))
            {
                return null;
            }

            if (port.ValueKind != JsonValueKind.Object)
            {
                return new EurekaPort(Text(port), null);
            }

            var enabled = Text(port, "@enabled");
            return new EurekaPort(Text(port, "$"), enabled is null ? null : string.Equals(enabled, "true", StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Reads <c>&lt;instance&gt;...&lt;/instance&gt;</c>. Throws <see cref="XmlException"/> when malformed; never
    /// resolves DTDs or external entities.</summary>
    public static EurekaRegistration ReadXml(Stream body)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = 1 << 20 };
        using var reader = XmlReader.Create(body, settings);
        var instance = XElement.Load(reader);
        if (instance.Name.LocalName != "instance")
        {
            throw new XmlException("the root element is not <instance>");
        }

        var metadata = instance.Element("metadata")?.Elements()
            .Select(e => new KeyValuePair<string, string>(XmlConvert.DecodeName(e.Name.LocalName), e.Value))
            .ToList() ?? [];
        return new EurekaRegistration(
            Text("instanceId"), Text("app"), Text("hostName"), Text("ipAddr"), Text("status"), Port("port"), Port("securePort"),
            instance.Element("leaseInfo")?.Element("durationInSecs")?.Value, metadata, Text("vipAddress"),
            Text("secureVipAddress"), Text("homePageUrl"), Text("statusPageUrl"), Text("healthCheckUrl"));

        string? Text(string name) => instance.Element(name)?.Value;

        EurekaPort? Port(string name) =>
            instance.Element(name) is { } port
                ? new EurekaPort(port.Value, port.Attribute("enabled") is { } enabled ? string.Equals(enabled.Value, "true", StringComparison.OrdinalIgnoreCase) : null)
                : null;
    }

    /// <summary>
    /// The Roster registration of this instance in <paramref name="ns"/>, for the application named in the request's
    /// path; or the first error, naming the field in Eureka's terms.
    /// </summary>
    public (RegisterChange? Change, string? Error) ToChange(string ns, string pathApp, RegistryLimits limits, RegistryNodeOptions options)
    {
        if (App is { Length: > 0 } app && !string.Equals(app, pathApp, StringComparison.OrdinalIgnoreCase))
        {
            return Fail($"app: the instance's app '{app}' is not the application '{pathApp}' it is registered under");
        }

        var service = pathApp.ToLowerInvariant();
        if (Names.CheckName("app", service) is { } appError)
        {
            return Fail($"app: {appError.Message} Roster keeps Eureka's application names in lower case.");
        }

        var id = InstanceId is { Length: > 0 } ? InstanceId : HostName;
        if (Names.CheckInstanceId("instanceId", id) is { } idError)
        {
            return Fail($"instanceId: {(string.IsNullOrEmpty(id) ? "instanceId or hostName is required." : idError.Message)}");
        }

        var address = IpAddr is { Length: > 0 } ? IpAddr : HostName;
        if (string.IsNullOrEmpty(address))
        {
            return Fail("ipAddr: ipAddr or hostName is required.");
        }

        if (EurekaStatus.Parse(Status) is not { } status)
        {
            return Fail($"status: '{Status}' is not a Eureka status (UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN).");
        }

        var extra = new List<KeyValuePair<string, string>>();
        int port;
        string scheme;
        if (Port is { Value: not null } plain && plain.Enabled != false)
        {
            if (ReadPort(plain.Value) is not { } number)
            {
                return Fail("port: the port must be a number from 1 to 65535.");
            }

            (port, scheme) = (number, "http");
            if (SecurePort is { Enabled: true, Value: { } secureText })
            {
                if (ReadPort(secureText) is not { } secureNumber)
                {
                    return Fail("securePort: the port must be a number from 1 to 65535.");
                }

                extra.Add(new(EurekaMetadata.SecurePort, secureNumber.ToString(CultureInfo.InvariantCulture)));
            }
        }
        else if (SecurePort is { Enabled: true, Value: { } secureOnly })
        {
            if (ReadPort(secureOnly) is not { } secureNumber)
            {
                return Fail("securePort: the port must be a number from 1 to 65535.");
            }

            (port, scheme) = (secureNumber, "https");
        }
        else
        {
            return Fail("port: an enabled port or securePort is required.");
        }

        var ttl = DefaultLeaseSeconds;
        if (DurationInSecs is { } durationText
            && (!int.TryParse(durationText, NumberStyles.None, CultureInfo.InvariantCulture, out ttl) || ttl < 1))
        {
            return Fail("leaseInfo.durationInSecs: the lease duration must be a whole number of seconds, 1 or more.");
        }

        string? zone = null;
        var metadata = new List<KeyValuePair<string, string>>(Metadata.Count + 4);
        foreach (var (key, value) in Metadata)
        {
            if (key.StartsWith(EurekaMetadata.Prefix, StringComparison.Ordinal))
            {
                return Fail($"metadata.{key}: keys starting '{EurekaMetadata.Prefix}' are Roster's, for what Eureka's instance fields say.");
            }

            if (key == EurekaMetadata.Zone)
            {
                zone = value;
            }
            else
            {
                metadata.Add(new(key, value));
            }
        }

        var hostName = string.IsNullOrEmpty(HostName) ? address : HostName;
        Keep(EurekaMetadata.Status, status == EurekaStatus.Up ? null : status);
        Keep(EurekaMetadata.HostName, hostName == address ? null : hostName);
        Keep(EurekaMetadata.VipAddress, VipAddress == service ? null : VipAddress);
        Keep(EurekaMetadata.SecureVipAddress, SecureVipAddress == service ? null : SecureVipAddress);
        var host = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : hostName;
        Keep(EurekaMetadata.HomePageUrl, HomePageUrl == $"{scheme}://{host}:{port}/" ? null : HomePageUrl);
        Keep(EurekaMetadata.StatusPageUrl, StatusPageUrl);
        Keep(EurekaMetadata.HealthCheckUrl, HealthCheckUrl);
        metadata.AddRange(extra);

        var input = new RegistrationInput(address, port, scheme, zone, null, null, metadata, ttl, false);
        var (registration, error) = input.Validate(limits, options);
        if (error is not null)
        {
            var field = error.Field switch
            {
                "address" => "ipAddr",
                "ttlSeconds" => "leaseInfo.durationInSecs",
                "zone" => "metadata.zone",
                var other => other,
            };
            return Fail($"{field}: {error.Message}");
        }

        return (new RegisterChange(new InstanceKey(ns, service, id!), registration!, 0), null);

        void Keep(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                extra.Add(new(key, value));
            }
        }

        static (RegisterChange?, string?) Fail(string error) => (null, error);

        static int? ReadPort(string text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= 65535 ? number : null;
    }
}
