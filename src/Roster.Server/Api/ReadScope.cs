using Roster.Core.Validation;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>
/// The <c>namespace=</c> and <c>service=</c> of a read that may span namespaces (the audit, Prometheus targets): both
/// checked as names, a service only with its namespace, and the token's read rights — on the namespace when one is
/// named, else <see cref="CanRead"/> says which namespaces it may see (null: every one).
/// </summary>
internal readonly record struct ReadScope(string Namespace, string Service, Func<string, bool>? CanRead)
{
    /// <summary>The scope of the request, or the problem that refuses it.</summary>
    public static (ReadScope Scope, IResult? Refused) From(HttpContext context, TokenAuthorizer auth)
    {
        var query = context.Request.Query;
        var ns = query["namespace"].ToString();
        var service = query["service"].ToString();
        var routeError = (ns.Length > 0 ? Names.CheckName("namespace", ns) : null)
            ?? (service.Length > 0 ? Names.CheckName("service", service) : null)
            ?? (service.Length > 0 && ns.Length == 0 ? new FieldError("namespace", "Name the namespace of the service.") : null);
        if (ns.Length > 0)
        {
            return (new ReadScope(ns, service, null), auth.Admit(context, ns, write: false, routeError is null ? null : Problems.Invalid(routeError)));
        }

        var (canRead, problem) = auth.ReadableNamespaces(context);
        return (new ReadScope(ns, service, canRead), problem ?? (routeError is null ? null : Problems.Invalid(routeError)));
    }
}
