using System.Text;
using System.Text.Json;
using System.Xml;
using Microsoft.Extensions.Options;
using Roster.Core.Leases;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Validation;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api.Eureka;

/// <summary>Where Eureka clients' applications live in Roster (<c>Roster:Eureka</c>).</summary>
public sealed class EurekaOptions
{
    /// <summary>The Roster namespace the Eureka API reads and writes. Default <c>default</c>.</summary>
    public string Namespace { get; set; } = "default";

    /// <summary>How long a change stays in the delta (<c>GET /eureka/apps/delta</c>). Default 3 minutes, as Eureka's.</summary>
    public TimeSpan DeltaRetention { get; set; } = TimeSpan.FromMinutes(3);
}

/// <summary>
/// The Eureka REST API that eureka-js-client, Spring Cloud Netflix and Steeltoe speak, under <c>/eureka/apps</c> and
/// <c>/eureka/v2/apps</c>, over <see cref="EurekaOptions.Namespace"/>. An application is a Roster service (its name in
/// lower case), an instance a Roster instance with a lease of the registration's <c>leaseInfo.durationInSecs</c>:
/// register (<c>POST</c>, 204), heartbeat (<c>PUT</c>, 200; 404 when the instance is not registered, so the client
/// registers again), cancel (<c>DELETE</c>); a status override of <c>OUT_OF_SERVICE</c> is a Roster drain (an
/// operator's, so it outlives registrations), removed by <c>DELETE .../status</c>. Reads — the full registry, the
/// delta, one application, one instance, VIPs — answer XML unless the client asks for JSON, as Eureka does; the full
/// registry and the delta come from <see cref="EurekaResponseCache"/>. Errors are Eureka's: a status and a short text.
/// </summary>
internal static class EurekaEndpoints
{
    private const int MaxBody = 64 * 1024;

    public static void Map(WebApplication app)
    {
        foreach (var prefix in (string[])["/eureka", "/eureka/v2"])
        {
            var eureka = app.MapGroup(prefix);
            eureka.MapGet("/apps", FullRegistry);
            eureka.MapGet("/apps/delta", Delta);
            eureka.MapGet("/apps/{app}", Application);
            eureka.MapGet("/apps/{app}/{id}", Instance);
            eureka.MapGet("/instances/{id}", InstanceById);
            eureka.MapGet("/vips/{vip}", (string vip, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, EurekaResponseCache cache, IOptions<EurekaOptions> options) =>
                Vip(vip, secure: false, context, host, auth, cache, options));
            eureka.MapGet("/svips/{vip}", (string vip, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, EurekaResponseCache cache, IOptions<EurekaOptions> options) =>
                Vip(vip, secure: true, context, host, auth, cache, options));
            eureka.MapPost("/apps/{app}", RegisterAsync);
            eureka.MapPut("/apps/{app}/{id}", Heartbeat);
            eureka.MapDelete("/apps/{app}/{id}", CancelAsync);
            eureka.MapPut("/apps/{app}/{id}/status", OverrideStatusAsync);
            eureka.MapDelete("/apps/{app}/{id}/status", RemoveOverrideAsync);
            eureka.MapPut("/apps/{app}/{id}/metadata", UpdateMetadataAsync);
        }
    }

    private static IResult FullRegistry(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, EurekaResponseCache cache, IOptions<EurekaOptions> options) =>
        Refuse(context, auth, options.Value.Namespace, write: false, out _)
        ?? Encoded(context, cache.Full(host.Node.State, EurekaEncoding.Negotiate(context.Request)));

    private static IResult Delta(HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, EurekaResponseCache cache, IOptions<EurekaOptions> options) =>
        Refuse(context, auth, options.Value.Namespace, write: false, out _)
        ?? Encoded(context, cache.Delta(host.Node, EurekaEncoding.Negotiate(context.Request)));

    private static IResult Application(string app, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: false, out _) is { } refused)
        {
            return refused;
        }

        var service = host.Node.State.FindService(ns, app.ToLowerInvariant());
        if (service is null || service.Instances.Count == 0)
        {
            return Text(404, $"Application {app} is not registered");
        }

        var instances = service.Instances.Values.Select(i => EurekaInstance.From(service.Name, i)).ToList();
        var format = EurekaEncoding.Negotiate(context.Request);
        return Encoded(context, new EncodedBody(EurekaEncoding.Application(format, new EurekaApplication(service.Name.ToUpperInvariant(), instances))));
    }

    private static IResult Instance(string app, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: false, out _) is { } refused)
        {
            return refused;
        }

        var service = app.ToLowerInvariant();
        return host.Node.State.FindInstance(new InstanceKey(ns, service, id)) is { } instance
            ? Encoded(context, new EncodedBody(EurekaEncoding.Instance(EurekaEncoding.Negotiate(context.Request), EurekaInstance.From(service, instance))))
            : Text(404, $"Instance {id} of {app} is not registered");
    }

    private static IResult InstanceById(string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: false, out _) is { } refused)
        {
            return refused;
        }

        if (host.Node.State.Namespaces.TryGetValue(ns, out var nsState))
        {
            foreach (var service in nsState.Services.Values)
            {
                if (service.Instances.TryGetValue(id, out var instance))
                {
                    return Encoded(context, new EncodedBody(EurekaEncoding.Instance(EurekaEncoding.Negotiate(context.Request), EurekaInstance.From(service.Name, instance))));
                }
            }
        }

        return Text(404, $"Instance {id} is not registered");
    }

    private static IResult Vip(string vip, bool secure, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, EurekaResponseCache cache, IOptions<EurekaOptions> options)
    {
        if (Refuse(context, auth, options.Value.Namespace, write: false, out _) is { } refused)
        {
            return refused;
        }

        var (all, _) = cache.View(host.Node.State);
        var applications = all
            .Select(a => new EurekaApplication(a.Name, [.. a.Instances.Where(i => i.HasVip(vip, secure))]))
            .Where(a => a.Instances.Count > 0)
            .ToList();
        var format = EurekaEncoding.Negotiate(context.Request);
        var hashCode = EurekaEncoding.HashCode(applications.SelectMany(a => a.Instances));
        return Encoded(context, new EncodedBody(EurekaEncoding.Applications(format, applications, hashCode, host.Node.State.Revision)));
    }

    private static async Task<IResult> RegisterAsync(string app, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options, IOptions<RegistryLimits> limits)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        EurekaRegistration registration;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (buffer.Length > MaxBody)
            {
                return Text(400, $"The registration is larger than {MaxBody} bytes");
            }

            var xml = context.Request.ContentType?.Contains("xml", StringComparison.OrdinalIgnoreCase) == true;
            buffer.Position = 0;
            registration = xml ? EurekaRegistration.ReadXml(buffer) : EurekaRegistration.ReadJson(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (Exception e) when (e is JsonException or XmlException)
        {
            return Text(400, "The registration could not be read: " + e.Message);
        }

        var node = host.Node;
        var (change, error) = registration.ToChange(ns, app, limits.Value, node.Options);
        return error is not null
            ? Text(400, "Invalid instance: " + error)
            : await SubmitAsync(node, change!, author, context, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    /// <summary>A renewal of the instance's lease: 200, or 404 when the registry does not hold it (the client registers
    /// again). Never enters the log.</summary>
    private static IResult Heartbeat(string app, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: true, out _) is { } refused)
        {
            return refused;
        }

        var node = host.Node;
        var key = new InstanceKey(ns, app.ToLowerInvariant(), id);
        return node.State.FindInstance(key) is { } instance && node.Renew(key, instance.Incarnation) == RenewStatus.Ok
            ? Results.Ok()
            : Text(404, $"Instance {id} of {app} is not registered");
    }

    private static async Task<IResult> CancelAsync(string app, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        var key = new InstanceKey(ns, app.ToLowerInvariant(), id);
        return host.Node.State.FindInstance(key) is null
            ? Text(404, $"Instance {id} of {app} is not registered")
            : await SubmitAsync(host.Node, new DeregisterChange(key, 0), author, context, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary><c>OUT_OF_SERVICE</c> (or <c>DOWN</c>) drains the instance, <c>UP</c> undrains it: Eureka's status
    /// override is Roster's drain, an operator's state that a re-registration keeps.</summary>
    private static async Task<IResult> OverrideStatusAsync(string app, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options)
    {
        var value = context.Request.Query["value"].ToString().ToUpperInvariant();
        bool drained;
        switch (value)
        {
            case EurekaStatus.OutOfService or EurekaStatus.Down:
                drained = true;
                break;
            case EurekaStatus.Up:
                drained = false;
                break;
            default:
                return Text(400, $"value: '{value}' cannot override a status in Roster; OUT_OF_SERVICE or DOWN drain the instance, UP undrains it");
        }

        return await SetDrainedAsync(app, id, drained, context, host, auth, options.Value.Namespace).ConfigureAwait(false);
    }

    private static Task<IResult> RemoveOverrideAsync(string app, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options) =>
        SetDrainedAsync(app, id, drained: false, context, host, auth, options.Value.Namespace);

    private static async Task<IResult> SetDrainedAsync(string app, string id, bool drained, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, string ns)
    {
        if (Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        var key = new InstanceKey(ns, app.ToLowerInvariant(), id);
        if (host.Node.State.FindInstance(key) is null)
        {
            return Text(404, $"Instance {id} of {app} is not registered");
        }

        var change = new OperatorChange(key, new OperatorPatch(drained, null, null, false));
        return await SubmitAsync(host.Node, change, author, context, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary><c>PUT .../metadata?key=value</c>: sets metadata entries, keeping the instance's incarnation and lease.</summary>
    private static async Task<IResult> UpdateMetadataAsync(string app, string id, HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IOptions<EurekaOptions> options, IOptions<RegistryLimits> limits)
    {
        var ns = options.Value.Namespace;
        if (Refuse(context, auth, ns, write: true, out var author) is { } refused)
        {
            return refused;
        }

        var node = host.Node;
        var key = new InstanceKey(ns, app.ToLowerInvariant(), id);
        if (node.State.FindInstance(key) is not { } instance)
        {
            return Text(404, $"Instance {id} of {app} is not registered");
        }

        var entries = instance.Registration.Metadata.Pairs().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var zone = instance.Registration.Zone;
        foreach (var (name, values) in context.Request.Query)
        {
            if (name.StartsWith(EurekaMetadata.Prefix, StringComparison.Ordinal))
            {
                return Text(400, $"Invalid metadata: keys starting '{EurekaMetadata.Prefix}' are Roster's");
            }

            if (name == EurekaMetadata.Zone)
            {
                zone = values.ToString();
            }
            else
            {
                entries[name] = values.ToString();
            }
        }

        var registration = instance.Registration;
        var input = new RegistrationInput(
            registration.Address, registration.Port, registration.Scheme, zone, registration.Version, registration.Weight,
            entries, registration.TtlSeconds, registration.Kind == InstanceKind.Persistent);
        var (updated, error) = input.Validate(limits.Value, node.Options);
        return error is not null
            ? Text(400, $"Invalid metadata: {error.Message}")
            : await SubmitAsync(node, new RegisterChange(key, updated!, instance.Incarnation), author, context, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private static Task<IResult> SubmitAsync(RegistryNode node, Change change, WriteAuthor? author, HttpContext context, int success) =>
        PlainTextWrites.SubmitAsync(node, change, author, context, Results.StatusCode(success), $"Instance {change.Key.Id} is not registered", "instance");

    /// <summary>
    /// Eureka clients authenticate with HTTP Basic (<c>http://user:password@registry/eureka</c>): the password is read as
    /// the Roster token when no bearer token is sent. Refused: 401 or 403 with a short text.
    /// </summary>
    private static IResult? Refuse(HttpContext context, TokenAuthorizer auth, string ns, bool write, out WriteAuthor? author)
    {
        var headers = context.Request.Headers;
        var authorization = headers.Authorization.ToString();
        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
                headers.Authorization = "Bearer " + credentials[(credentials.IndexOf(':', StringComparison.Ordinal) + 1)..];
            }
            catch (FormatException)
            {
                author = null;
                return Text(401, "The Basic credentials are not base64");
            }
        }

        author = null;
        var refused = write ? auth.AdmitChange(context, ns, null, out author) : auth.Admit(context, ns, write: false, null);
        return refused is IStatusCodeHttpResult { StatusCode: { } status }
            ? Text(status, status == StatusCodes.Status401Unauthorized ? "A token is required" : $"The token may not {(write ? "write" : "read")} namespace {ns}")
            : null;
    }

    private static IResult Encoded(HttpContext context, EncodedBody body) => new EncodedResult(body, EurekaEncoding.Negotiate(context.Request));

    private static IResult Text(int status, string message) => PlainTextWrites.Text(status, message);

    /// <summary>Writes encoded bytes, gzipped when the client accepts gzip (Eureka clients do).</summary>
    private sealed class EncodedResult(EncodedBody body, EurekaFormat format) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = EurekaEncoding.ContentType(format);
            response.Headers.Vary = "Accept, Accept-Encoding";
            var bytes = body.Body;
            if (httpContext.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
            {
                bytes = body.Gzip;
                response.Headers.ContentEncoding = "gzip";
            }

            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
