using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;

namespace Roster.Server.Api.Eureka;

internal enum EurekaFormat
{
    Json,
    Xml,
}

/// <summary>One Eureka application: its name (upper case) and instances.</summary>
internal sealed record EurekaApplication(string Name, IReadOnlyList<EurekaInstance> Instances);

/// <summary>
/// Writes Eureka's documents — <c>applications</c>, <c>application</c> and <c>instance</c> — in JSON (the shape
/// Eureka's Jackson codec writes: ports as <c>{"$": 8080, "@enabled": "true"}</c>, every list an array) or XML, and
/// chooses between them the way Eureka does: JSON only when the client asks for it.
/// </summary>
internal static class EurekaEncoding
{
    private const string DataCenterClass = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";

    private static readonly XmlWriterSettings XmlSettings = new()
    {
        Encoding = new UTF8Encoding(false),
        OmitXmlDeclaration = true,
        CheckCharacters = false,
    };

    /// <summary>JSON when the <c>Accept</c> header names JSON ahead of XML; XML otherwise (Eureka's first type).</summary>
    public static EurekaFormat Negotiate(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        var json = accept.IndexOf("json", StringComparison.OrdinalIgnoreCase);
        var xml = accept.IndexOf("xml", StringComparison.OrdinalIgnoreCase);
        return json >= 0 && (xml < 0 || json < xml) ? EurekaFormat.Json : EurekaFormat.Xml;
    }

    public static string ContentType(EurekaFormat format) =>
        format == EurekaFormat.Json ? "application/json; charset=utf-8" : "application/xml; charset=utf-8";

    /// <summary>
    /// Eureka's reconcile hash code of a set of instances: each status with its count, in the statuses' order, as
    /// <c>DOWN_1_UP_5_</c>. A client compares it with its own after applying a delta, and fetches in full when they differ.
    /// </summary>
    public static string HashCode(IEnumerable<EurekaInstance> instances)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            counts[instance.Status] = counts.GetValueOrDefault(instance.Status) + 1;
        }

        var text = new StringBuilder();
        foreach (var (status, count) in counts)
        {
            text.Append(status).Append('_').Append(count.ToString(CultureInfo.InvariantCulture)).Append('_');
        }

        return text.ToString();
    }

    private static readonly GzipFragments.Part JsonSeparator = new(","u8.ToArray());
    private static readonly GzipFragments.Part JsonEnd = new("]}}"u8.ToArray());
    private static readonly GzipFragments.Part XmlEnd = new("</applications>"u8.ToArray());

    /// <summary>An <c>applications</c> document (the full registry, a delta, a VIP's instances).</summary>
    public static byte[] Applications(EurekaFormat format, IReadOnlyList<EurekaApplication> applications, string hashCode, long version) =>
        GzipFragments.Concatenate(ApplicationsDocument(format, hashCode, version, [.. applications.Select(a => new GzipFragments.Part(ApplicationPart(format, a)))]));

    /// <summary>
    /// The parts of an <c>applications</c> document around the applications' own parts (<see cref="ApplicationPart"/>):
    /// its opening, the applications (comma-separated in JSON) and its end; joined, or gzipped part by part.
    /// </summary>
    public static List<GzipFragments.Part> ApplicationsDocument(EurekaFormat format, string hashCode, long version, IReadOnlyList<GzipFragments.Part> applications)
    {
        var parts = new List<GzipFragments.Part>(applications.Count * 2 + 2) { new(ApplicationsStart(format, hashCode, version)) };
        for (var i = 0; i < applications.Count; i++)
        {
            if (format == EurekaFormat.Json && i > 0)
            {
                parts.Add(JsonSeparator);
            }

            parts.Add(applications[i]);
        }

        parts.Add(format == EurekaFormat.Json ? JsonEnd : XmlEnd);
        return parts;
    }

    /// <summary>The opening of an <c>applications</c> document, up to its first application.</summary>
    private static byte[] ApplicationsStart(EurekaFormat format, string hashCode, long version)
    {
        using var buffer = new MemoryStream(256);
        if (format == EurekaFormat.Json)
        {
            using var json = new Utf8JsonWriter(buffer);
            json.WriteStartObject();
            json.WriteStartObject("applications"u8);
            json.WriteString("versions__delta"u8, version.ToString(CultureInfo.InvariantCulture));
            json.WriteString("apps__hashcode"u8, hashCode);
            json.WriteStartArray("application"u8);
            json.Flush();
            return buffer.ToArray();
        }

        // Closing the writer would close the element: the bytes are taken before.
        using var xml = XmlWriter.Create(buffer, XmlSettings);
        xml.WriteStartElement("applications");
        xml.WriteElementString("versions__delta", version.ToString(CultureInfo.InvariantCulture));
        xml.WriteElementString("apps__hashcode", hashCode);
        xml.Flush();
        return buffer.ToArray();
    }

    /// <summary>One application as a part of an <c>applications</c> document (see <see cref="ApplicationsStart"/>).</summary>
    public static byte[] ApplicationPart(EurekaFormat format, EurekaApplication application) =>
        Write(format, json => WriteApplication(json, application), xml => WriteApplication(xml, application));

    public static byte[] Application(EurekaFormat format, EurekaApplication application) =>
        Write(format, json =>
        {
            json.WriteStartObject();
            json.WritePropertyName("application"u8);
            WriteApplication(json, application);
            json.WriteEndObject();
        }, xml => WriteApplication(xml, application));

    public static byte[] Instance(EurekaFormat format, EurekaInstance instance) =>
        Write(format, json =>
        {
            json.WriteStartObject();
            json.WritePropertyName("instance"u8);
            WriteInstance(json, instance);
            json.WriteEndObject();
        }, xml => WriteInstance(xml, instance));

    private static byte[] Write(EurekaFormat format, Action<Utf8JsonWriter> json, Action<XmlWriter> xml)
    {
        using var buffer = new MemoryStream(4096);
        if (format == EurekaFormat.Json)
        {
            using var writer = new Utf8JsonWriter(buffer);
            json(writer);
        }
        else
        {
            using var writer = XmlWriter.Create(buffer, XmlSettings);
            xml(writer);
        }

        return buffer.ToArray();
    }

    private static void WriteApplication(Utf8JsonWriter json, EurekaApplication application)
    {
        json.WriteStartObject();
        json.WriteString("name"u8, application.Name);
        json.WriteStartArray("instance"u8);
        foreach (var instance in application.Instances)
        {
            WriteInstance(json, instance);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteApplication(XmlWriter xml, EurekaApplication application)
    {
        xml.WriteStartElement("application");
        xml.WriteElementString("name", application.Name);
        foreach (var instance in application.Instances)
        {
            WriteInstance(xml, instance);
        }

        xml.WriteEndElement();
    }

    private static void WriteInstance(Utf8JsonWriter json, EurekaInstance instance)
    {
        json.WriteStartObject();
        json.WriteString("instanceId"u8, instance.InstanceId);
        json.WriteString("hostName"u8, instance.HostName);
        json.WriteString("app"u8, instance.App);
        json.WriteString("ipAddr"u8, instance.IpAddr);
        json.WriteString("status"u8, instance.Status);
        json.WriteString("overriddenStatus"u8, instance.OverriddenStatus);
        WritePort(json, "port"u8, instance.Port, instance.PortEnabled);
        WritePort(json, "securePort"u8, instance.SecurePort, instance.SecurePortEnabled);
        json.WriteNumber("countryId"u8, 1);
        json.WriteStartObject("dataCenterInfo"u8);
        json.WriteString("@class"u8, DataCenterClass);
        json.WriteString("name"u8, "MyOwn"u8);
        json.WriteEndObject();
        json.WriteStartObject("leaseInfo"u8);
        json.WriteNumber("renewalIntervalInSecs"u8, instance.RenewalIntervalSeconds);
        json.WriteNumber("durationInSecs"u8, instance.DurationSeconds);
        json.WriteNumber("registrationTimestamp"u8, 0);
        json.WriteNumber("lastRenewalTimestamp"u8, 0);
        json.WriteNumber("evictionTimestamp"u8, 0);
        json.WriteNumber("serviceUpTimestamp"u8, 0);
        json.WriteEndObject();
        json.WriteStartObject("metadata"u8);
        foreach (var (key, value) in instance.Metadata)
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
        json.WriteString("homePageUrl"u8, instance.HomePageUrl);
        json.WriteString("statusPageUrl"u8, instance.StatusPageUrl);
        json.WriteString("healthCheckUrl"u8, instance.HealthCheckUrl);
        json.WriteString("vipAddress"u8, instance.VipAddress);
        json.WriteString("secureVipAddress"u8, instance.SecureVipAddress);
        json.WriteString("isCoordinatingDiscoveryServer"u8, "false"u8);
        json.WriteString("lastUpdatedTimestamp"u8, "0"u8);
        json.WriteString("lastDirtyTimestamp"u8, "0"u8);
        if (instance.ActionType is { } action)
        {
            json.WriteString("actionType"u8, action);
        }

        json.WriteEndObject();
    }

    private static void WritePort(Utf8JsonWriter json, ReadOnlySpan<byte> name, int port, bool enabled)
    {
        json.WriteStartObject(name);
        json.WriteNumber("$"u8, port);
        json.WriteString("@enabled"u8, enabled ? "true"u8 : "false"u8);
        json.WriteEndObject();
    }

    private static void WriteInstance(XmlWriter xml, EurekaInstance instance)
    {
        xml.WriteStartElement("instance");
        xml.WriteElementString("instanceId", instance.InstanceId);
        xml.WriteElementString("hostName", instance.HostName);
        xml.WriteElementString("app", instance.App);
        xml.WriteElementString("ipAddr", instance.IpAddr);
        xml.WriteElementString("status", instance.Status);
        xml.WriteElementString("overriddenstatus", instance.OverriddenStatus);
        WritePort(xml, "port", instance.Port, instance.PortEnabled);
        WritePort(xml, "securePort", instance.SecurePort, instance.SecurePortEnabled);
        xml.WriteElementString("countryId", "1");
        xml.WriteStartElement("dataCenterInfo");
        xml.WriteAttributeString("class", DataCenterClass);
        xml.WriteElementString("name", "MyOwn");
        xml.WriteEndElement();
        xml.WriteStartElement("leaseInfo");
        xml.WriteElementString("renewalIntervalInSecs", instance.RenewalIntervalSeconds.ToString(CultureInfo.InvariantCulture));
        xml.WriteElementString("durationInSecs", instance.DurationSeconds.ToString(CultureInfo.InvariantCulture));
        xml.WriteElementString("registrationTimestamp", "0");
        xml.WriteElementString("lastRenewalTimestamp", "0");
        xml.WriteElementString("evictionTimestamp", "0");
        xml.WriteElementString("serviceUpTimestamp", "0");
        xml.WriteEndElement();
        xml.WriteStartElement("metadata");
        if (instance.Metadata.Count == 0)
        {
            xml.WriteAttributeString("class", "java.util.Collections$EmptyMap");
        }

        foreach (var (key, value) in instance.Metadata)
        {
            // Metadata keys are element names here; a character XML names cannot hold is escaped as _xHHHH_.
            xml.WriteElementString(XmlConvert.EncodeLocalName(key), value);
        }

        xml.WriteEndElement();
        xml.WriteElementString("homePageUrl", instance.HomePageUrl);
        xml.WriteElementString("statusPageUrl", instance.StatusPageUrl);
        xml.WriteElementString("healthCheckUrl", instance.HealthCheckUrl);
        xml.WriteElementString("vipAddress", instance.VipAddress);
        xml.WriteElementString("secureVipAddress", instance.SecureVipAddress);
        xml.WriteElementString("isCoordinatingDiscoveryServer", "false");
        xml.WriteElementString("lastUpdatedTimestamp", "0");
        xml.WriteElementString("lastDirtyTimestamp", "0");
        if (instance.ActionType is { } action)
        {
            xml.WriteElementString("actionType", action);
        }

        xml.WriteEndElement();
    }

    private static void WritePort(XmlWriter xml, string name, int port, bool enabled)
    {
        xml.WriteStartElement(name);
        xml.WriteAttributeString("enabled", enabled ? "true" : "false");
        xml.WriteString(port.ToString(CultureInfo.InvariantCulture));
        xml.WriteEndElement();
    }
}
