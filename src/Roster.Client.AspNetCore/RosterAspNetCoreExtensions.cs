using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Roster.Client.AspNetCore;

namespace Roster.Client;

/// <summary>Roster for ASP.NET Core applications.</summary>
public static class RosterAspNetCoreExtensions
{
    /// <summary>
    /// Registers the address the web server listens on when <see cref="RosterRegistrationOptions.Address"/>
    /// and <see cref="RosterRegistrationOptions.Port"/> are not set.
    /// </summary>
    public static RosterBuilder AddServerAddresses(this RosterBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IRosterAddressSource>(provider => new ServerAddressSource(provider.GetRequiredService<IServer>()));
        return builder;
    }

    /// <summary>
    /// Declines requests this process should not take (while draining, for a service it does not host,
    /// above its concurrency limit) with 503 and <see cref="RosterHttp.RejectionHeader"/>, so consumers retry
    /// elsewhere. Place it early in the pipeline.
    /// </summary>
    public static IApplicationBuilder UseRosterRejection(this IApplicationBuilder app, Action<RosterRejectionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (configure is not null)
        {
            var options = app.ApplicationServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RosterRejectionOptions>>().Value;
            configure(options);
        }

        return app.UseMiddleware<RosterRejectionMiddleware>();
    }

    /// <summary>
    /// Serves, as JSON at <paramref name="pattern"/>, what this process sees of Roster: whether it drains,
    /// and for each service it has called, the list it holds (source, age, sequence) with what the balancer
    /// knows of each endpoint (requests sent and in flight, failures, ejection, latency). It shows internal
    /// addresses: protect it as any other operations endpoint.
    /// </summary>
    public static IEndpointConventionBuilder MapRosterStatus(this IEndpointRouteBuilder endpoints, string pattern = "/roster/status")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGet(pattern, (HttpContext context) =>
        {
            var services = context.RequestServices;
            var status = RosterStatus.Read(
                services.GetService<RosterProviderState>(),
                services.GetService<RosterDiscovery>(),
                services.GetService<RosterLoadBalancer>(),
                services.GetService<TimeProvider>() ?? TimeProvider.System);
            return TypedResults.Json(status, RosterStatusJson.Default.RosterStatus);
        });
    }
}
