using Microsoft.AspNetCore.Hosting;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.WebUtilities;
using Roster.Core.Node;
using Roster.Core.Validation;
using Roster.Server.Api;
using Roster.Server.Diagnostics;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server;

/// <summary>
/// Builds the registry node's web application. Configuration lives under <c>Roster:</c>
/// (<c>Storage</c>, <c>Node</c>, <c>Limits</c>, <c>Auth</c>, <c>RateLimit</c>) and comes from the usual
/// sources: command line, <c>ROSTER__...</c> environment variables, <c>appsettings.json</c>.
/// </summary>
public static class RosterServer
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);

        // A body that trickles in holds a connection and its buffers: below 1 KiB/s after 5 s it is cut
        // (a renewal of 50,000 leases still has minutes); BodyReadTimeout bounds the whole body besides.
        Microsoft.AspNetCore.Hosting.WebHostBuilderKestrelExtensions.ConfigureKestrel(builder.WebHost, kestrel =>
            kestrel.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(1024, TimeSpan.FromSeconds(5)));

        // Per-request logs cost more than the registration itself; configuration can turn them back on.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // ASP.NET Core's hosting logger ("request starting/finished") is never enabled, whatever configuration says: its
        // entries read the live request when a provider formats them, which an asynchronous provider does on another
        // thread (seed 004), and while enabled it started an Activity per request (about 5 % of the node's CPU under
        // registrations). See GuardedLoggerFactory. An OpenTelemetry trace export still gets its spans: a listener on
        // the activity source starts them regardless.
        builder.Services.AddSingleton<ILoggerFactory>(services =>
            new Diagnostics.GuardedLoggerFactory(ActivatorUtilities.CreateInstance<LoggerFactory>(services)));
        var roster = builder.Configuration.GetSection("Roster");
        if (SettingsCheck.FindUnknownKeys(roster) is { Count: > 0 } unknown)
        {
            throw new UnknownSettingException(unknown);
        }

        var tls = roster.GetSection("Tls").Get<TlsOptions>() ?? new TlsOptions();
        Roster.Cluster.BusTls.Validate(roster.GetSection("Cluster").Get<Roster.Cluster.BusOptions>() ?? new Roster.Cluster.BusOptions());
        if (tls.Enabled)
        {
            // Read once at start: a wrong file stops the node with the setting's name.
            var (certificate, clientCas) = tls.Load();
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificate = certificate;
                if (clientCas is not null)
                {
                    https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate;
                    https.ClientCertificateValidation = (client, _, _) => TlsOptions.IssuedBy(client, clientCas);
                }
            }));
        }

        builder.Services.Configure<StorageOptions>(roster.GetSection("Storage"));
        builder.Services.Configure<Roster.Cluster.BusOptions>(roster.GetSection("Cluster"));
        builder.Services.AddOptions<RegistryNodeOptions>().Bind(roster.GetSection("Node")).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RegistryNodeOptions>, RegistryNodeOptionsValidator>();
        builder.Services.Configure<RegistryLimits>(roster.GetSection("Limits"));
        builder.Services.AddOptions<AuthOptions>().Bind(roster.GetSection("Auth")).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        var rateLimit = roster.GetSection("RateLimit").Get<RateLimitOptions>() ?? new RateLimitOptions();

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RegistryNodeHost>();
        // The probe port listens before the node replays its log, so an orchestrator sees a long start as alive.
        builder.Services.Configure<HealthOptions>(roster.GetSection("Health"));
        builder.Services.AddSingleton<HealthListener>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HealthListener>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RegistryNodeHost>());
        builder.Services.AddSingleton<TokenAuthorizer>();
        builder.Services.AddSingleton<ServerTelemetry>();
        builder.Services.AddSingleton<MetricsExporter>();
        builder.Services.AddTelemetryExport(roster.GetSection("Telemetry"));
        builder.Services.AddSingleton<BadInputLog>();
        builder.Services.Configure<AdmissionOptions>(roster.GetSection("Admission"));
        builder.Services.Configure<ConsulOptions>(roster.GetSection("Consul"));
        builder.Services.Configure<Roster.Server.Api.Eureka.EurekaOptions>(roster.GetSection("Eureka"));
        builder.Services.AddSingleton<Roster.Server.Api.Eureka.EurekaResponseCache>();
        builder.Services.AddSingleton<AdmissionControl>();
        builder.Services.AddSingleton<RecentLogLines>();
        builder.Services.AddSingleton<ILoggerProvider>(services => services.GetRequiredService<RecentLogLines>());

        // Large reads (a service of thousands of instances is megabytes of JSON) are compressed for clients that ask,
        // such as the web console's browser; watch streams never are (text/event-stream is not compressible here).
        builder.Services.AddResponseCompression(options =>
        {
            options.Providers.Add<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProvider>();
            options.MimeTypes = ["application/json", "application/xml"];
        });
        builder.Services.Configure<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProviderOptions>(
            options => options.Level = System.IO.Compression.CompressionLevel.Fastest);
        builder.Services.Configure<RequestBodyLimits>(roster.GetSection("Limits"));
        builder.Services.AddSingleton<RequestBodyBudget>();
        if (rateLimit.PermitsPerSecond > 0)
        {
            builder.Services.AddRateLimiter(options =>
            {
                options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    RateLimitPartition.GetTokenBucketLimiter(
                        context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                        _ => new TokenBucketRateLimiterOptions
                        {
                            TokenLimit = Math.Max(rateLimit.Burst, rateLimit.PermitsPerSecond),
                            TokensPerPeriod = rateLimit.PermitsPerSecond,
                            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                            QueueLimit = 0,
                        }));
                options.OnRejected = (rejected, cancellationToken) =>
                {
                    var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
                        ? (int)Math.Ceiling(wait.TotalSeconds)
                        : 1;
                    return new ValueTask(Problems.Result(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests",
                        $"Over the limit of {rateLimit.PermitsPerSecond} requests per second; retry after {retryAfter} s.", null,
                        Math.Max(1, retryAfter)).ExecuteAsync(rejected.HttpContext));
                };
            });
        }

        configure?.Invoke(builder);

        var app = builder.Build();
        _ = app.Services.GetRequiredService<ServerTelemetry>(); // its instruments exist from the start
        _ = app.Services.GetRequiredService<MetricsExporter>(); // listening from the start
        app.Services.GetRequiredService<TokenAuthorizer>().WarnWhenOpen();
        if (rateLimit.PermitsPerSecond > 0)
        {
            app.UseRateLimiter();
        }

        // Before anything reads a body or routes: a node over its bounds turns requests away cheaply.
        var admission = app.Services.GetRequiredService<AdmissionControl>();
        app.Use(admission.InvokeAsync);

        // A cluster node cut off from its bus still answers reads and watches from memory, and says how stale.
        // Only a cluster node has the step: a single node's requests pass no extra middleware.
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Roster.Cluster.BusOptions>>().Value.Brokers.Count > 0)
        {
            var nodeHost = app.Services.GetRequiredService<RegistryNodeHost>();
            app.Use((context, next) =>
            {
                if (nodeHost.ClusterLog?.NotReadingFor is { } stale)
                {
                    context.Response.Headers["Roster-Stale-Seconds"] = ((long)stale.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return next(context);
            });
        }

        // Only reads that asked for it pass the compression step: registrations and renewals do not pay for it.
        app.UseWhen(
            context => HttpMethods.IsGet(context.Request.Method) && context.Request.Headers.ContainsKey("Accept-Encoding"),
            branch => branch.UseResponseCompression());

        // Responses the framework ends without a body (405 for a wrong method, for instance) still get a problem.
        app.UseStatusCodePages(async statusContext =>
        {
            var context = statusContext.HttpContext;
            var status = context.Response.StatusCode;
            var (type, title, detail, field) = status switch
            {
                StatusCodes.Status404NotFound => ("no-such-route", "Not found", $"No API at {context.Request.Method} {context.Request.Path}.", "path"),
                StatusCodes.Status405MethodNotAllowed => ("method-not-allowed", "Method not allowed", $"{context.Request.Method} is not supported on {context.Request.Path}.", "method"),
                _ => ("http-" + status, ReasonPhrases.GetReasonPhrase(status), $"The request to {context.Request.Path} failed with {status}.", (string?)null),
            };
            await Problems.Result(status, type, title, detail, field).ExecuteAsync(context).ConfigureAwait(false);
        });

        var api = app.MapGroup("/api/v1");
        InstanceEndpoints.Map(api);
        ServiceEndpoints.Map(api);
        LeaseEndpoints.Map(api);
        WatchEndpoints.Map(api);
        AuditEndpoints.Map(api);
        PrometheusEndpoints.Map(api);
        DebugEndpoints.Map(api);
        StatusEndpoints.Map(app);
        ClusterEndpoints.Map(app);
        ConsulEndpoints.Map(app);
        ConsulAgentEndpoints.Map(app);
        Roster.Server.Api.Eureka.EurekaEndpoints.Map(app);
        Roster.Server.Console.WebConsole.Map(app);
        return app;
    }
}
