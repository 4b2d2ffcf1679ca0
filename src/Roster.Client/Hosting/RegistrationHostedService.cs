using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Roster.Client.Hosting;

/// <summary>
/// Runs the <see cref="RegistrationAgent"/> with the host: it starts registering once the application
/// has started (so consumers are not sent to a process that cannot answer yet), and on shutdown drains
/// and deregisters before the host goes on to stop the server, which still serves the requests in flight.
/// </summary>
/// <remarks>
/// The drain runs in <see cref="StoppingAsync"/>, which the host calls on every lifecycle service before it
/// stops any hosted service. <see cref="StopAsync"/> would be too late: a web application stops its server
/// before the hosted services the app added, so the process would refuse connections during its own drain
/// period (clients that do not retry a refused connection, such as YARP, would see failed requests).
/// </remarks>
internal sealed class RegistrationHostedService(
    RosterClient client,
    IOptions<RosterRegistrationOptions> options,
    IHostApplicationLifetime lifetime,
    RosterProviderState state,
    IEnumerable<IRosterAddressSource> addressSources,
    TimeProvider? time = null) : IHostedLifecycleService, IAsyncDisposable
{
    private volatile RegistrationAgent? _agent;
    private CancellationTokenRegistration _started;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Fail at start, not later, when the options are incomplete and nothing can supply an address.
        var sources = addressSources.ToArray();
        if (sources.Length == 0)
        {
            options.Value.ToRegistration();
        }

        _started = lifetime.ApplicationStarted.Register(() =>
        {
            // Only now are a web server's bound addresses known.
            var agent = new RegistrationAgent(client, [options.Value.ToRegistration(sources)], options.Value.Agent, time ?? TimeProvider.System);
            _agent = agent;
            agent.Start();
        });
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Drains and deregisters while the server still accepts connections.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Drains and deregisters (once: after <see cref="StoppingAsync"/> there is nothing left to do).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        state.BeginDraining();
        await _started.DisposeAsync().ConfigureAwait(false);
        if (_agent is { } agent)
        {
            await agent.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_agent is { } agent)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }
    }
}
