using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Roster.Client.Hosting;

/// <summary>
/// Runs the <see cref="RegistrationAgent"/> with the host: it starts registering once the application
/// has started (so consumers are not sent to a process that cannot answer yet), and on shutdown drains
/// and deregisters before the host goes on to stop the server, which still serves the requests in flight.
/// </summary>
internal sealed class RegistrationHostedService(
    RosterClient client, IOptions<RosterRegistrationOptions> options, IHostApplicationLifetime lifetime, TimeProvider? time = null) : IHostedService, IAsyncDisposable
{
    private RegistrationAgent? _agent;
    private CancellationTokenRegistration _started;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var registration = options.Value.ToRegistration();
        _agent = new RegistrationAgent(client, [registration], options.Value.Agent, time ?? TimeProvider.System);
        _started = lifetime.ApplicationStarted.Register(static agent => ((RegistrationAgent)agent!).Start(), _agent);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _started.DisposeAsync().ConfigureAwait(false);
        if (_agent is not null)
        {
            await _agent.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync().ConfigureAwait(false);
        }
    }
}
