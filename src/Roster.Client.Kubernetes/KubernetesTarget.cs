using System.Globalization;
using System.Text.RegularExpressions;

namespace Roster.Client.Kubernetes;

/// <summary>
/// A <c>k8s://</c> target in go-zero's syntax: <c>k8s://shop/inventory:8080</c> names a Service (<c>inventory</c> in namespace
/// <c>shop</c>) and the port to call on each of its endpoints: a number is dialled as it is (go-zero's meaning: the pods'
/// port), a name picks the EndpointSlice port of that name; without one, the slices' only port is used.
/// </summary>
internal sealed partial record KubernetesTarget(string Namespace, string Service, int? PortNumber, string? PortName)
{
    public const string Scheme = "k8s";

    /// <summary>The label every EndpointSlice of the Service carries.</summary>
    public string LabelSelector => "kubernetes.io/service-name=" + Service;

    /// <summary>Reads <paramref name="target"/>; null when it is not a Kubernetes target, with why.</summary>
    public static KubernetesTarget? Parse(string target, out string? error)
    {
        const string prefix = Scheme + "://";
        if (!target.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{target}' is not a Kubernetes target: k8s://namespace/service[:port].";
            return null;
        }

        var rest = target[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            error = $"'{target}' names no namespace: k8s://namespace/service[:port].";
            return null;
        }

        var (@namespace, servicePort) = (rest[..slash], rest[(slash + 1)..]);
        var colon = servicePort.IndexOf(':', StringComparison.Ordinal);
        var (service, port) = colon < 0 ? (servicePort, null) : (servicePort[..colon], servicePort[(colon + 1)..]);
        if (!DnsLabel().IsMatch(@namespace))
        {
            error = $"'{@namespace}' is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63).";
            return null;
        }

        if (!DnsLabel().IsMatch(service))
        {
            error = $"'{service}' is not a Kubernetes Service name (lower-case letters, digits and '-', at most 63).";
            return null;
        }

        if (port is null)
        {
            error = null;
            return new KubernetesTarget(@namespace, service, null, null);
        }

        if (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            error = number is < 1 or > 65535 ? $"port '{port}' is not from 1 to 65535." : null;
            return error is null ? new KubernetesTarget(@namespace, service, number, null) : null;
        }

        if (!DnsLabel().IsMatch(port) || port.Length > 15)
        {
            error = $"port '{port}' is neither a number nor a port name (lower-case letters, digits and '-', at most 15).";
            return null;
        }

        error = null;
        return new KubernetesTarget(@namespace, service, null, port);
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();
}
