using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
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
}
