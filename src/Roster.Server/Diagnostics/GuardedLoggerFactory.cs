using Microsoft.Extensions.Logging.Abstractions;

namespace Roster.Server.Diagnostics;

/// <summary>
/// The node's logger factory: the host's own, except that ASP.NET Core's hosting diagnostics category gets a logger
/// that is never enabled, whatever the configuration or a provider's own rules say.
/// <para>
/// Why (seed 004, a service that crashed logging a request context another thread was changing): that category's
/// "request starting/finished" entries keep the live <see cref="HttpContext"/> as their state and read it only when
/// a provider formats them. A provider that formats on another thread (any asynchronous sink) then reads the request
/// while the request's own thread uses it, and the request's lazily filled feature cache is not made for two threads:
/// under load, requests failed with a <see cref="NullReferenceException"/> inside <c>HttpRequest.Query</c>
/// (<c>ConcurrentLogFormattingTests</c> reproduced it before this guard). It also started an <c>Activity</c> per
/// request (about 5 % of the node's CPU). Kestrel and the exception handler still log errors.
/// </para>
/// </summary>
internal sealed class GuardedLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>Categories whose log state refers to objects that change after the call that logged it.</summary>
    public const string HostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, HostingDiagnostics, StringComparison.Ordinal) ? NullLogger.Instance : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}
