using Roster.Client.Connection;

namespace Roster.Client;

/// <summary>
/// Keeps a process's instances registered: registers them, renews all of them in one batch request
/// every TTL/3 (with jitter), registers again any the registry no longer knows (<c>unknown</c>) or has
/// replaced (<c>stale-incarnation</c>), and keeps trying through a registry outage. On stop it marks
/// them drained, waits the drain period, and deregisters them.
/// </summary>
/// <remarks>
/// One loop owns all registration state; nothing is locked. Stopping ends that loop before the drain
/// starts, so no registration can happen once shutdown has begun.
/// </remarks>
public sealed class RegistrationAgent : IAsyncDisposable
{
    private readonly RosterClient _client;
    private readonly InstanceRegistration[] _instances;
    private readonly RegistrationAgentOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly CancellationTokenSource _stopping = new();
    private volatile RegisteredInstance?[] _registered;

    // Owned by the agent's loop: which instances it has registered at least once, so a later registration is a re-registration.
    private readonly bool[] _everRegistered;
    private Task? _loop;
    private int _stopped;

    /// <summary>Creates an agent for <paramref name="instances"/>; nothing happens until <see cref="Start"/>.</summary>
    public RegistrationAgent(RosterClient client, IEnumerable<InstanceRegistration> instances, RegistrationAgentOptions? options = null, TimeProvider? time = null)
        : this(client, instances, options, time, random: null)
    {
    }

    internal RegistrationAgent(RosterClient client, IEnumerable<InstanceRegistration> instances, RegistrationAgentOptions? options, TimeProvider? time, Func<double>? random)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(instances);
        _client = client;
        _instances = [.. instances];
        if (_instances.Length == 0)
        {
            throw new ArgumentException("The agent needs at least one instance to register.", nameof(instances));
        }

        _options = options ?? new RegistrationAgentOptions();
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared.NextDouble;
        _registered = new RegisteredInstance?[_instances.Length];
        _everRegistered = new bool[_instances.Length];
    }

    /// <summary>The instances the registry has acknowledged, in the order given; an entry is null while (re-)registering.</summary>
    public IReadOnlyList<RegisteredInstance?> Registered => _registered;

    /// <summary>Raised (on the agent's loop) after each successful renewal round; for diagnostics and tests.</summary>
    public event EventHandler? Renewed;

    /// <summary>Starts registering and renewing in the background.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The agent has already started.");
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>
    /// Stops renewing, marks the registered instances drained, waits <see cref="RegistrationAgentOptions.DrainPeriod"/>,
    /// then deregisters them. Each step is best effort: a registry that cannot be reached lets the lease expire.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        var registered = _registered.OfType<RegisteredInstance>().ToList();
        if (registered.Count == 0)
        {
            return;
        }

        await ForEachAsync(registered, r => _client.SetDrainedAsync(r.Namespace, r.Service, r.Id, drained: true, cancellationToken)).ConfigureAwait(false);
        await Task.Delay(_options.DrainPeriod, _time, cancellationToken).ConfigureAwait(false);
        // With the incarnation, a newer registration of the same id (a replacement process) stays.
        await ForEachAsync(registered, r => _client.DeregisterAsync(r.Namespace, r.Service, r.Id, r.Incarnation, cancellationToken)).ConfigureAwait(false);
        _registered = new RegisteredInstance?[_instances.Length];
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                // A fresh registration starts a full lease: renew only what was already registered.
                if (await RegisterMissingAsync(stopping).ConfigureAwait(false) == 0)
                {
                    await RenewAsync(stopping).ConfigureAwait(false);
                }

                // Something to register again: do it now, not a whole interval later.
                wait = Array.IndexOf(_registered, null) >= 0 ? TimeSpan.Zero : RenewInterval();
                failures = 0;
            }
            catch (RosterUnavailableException)
            {
                wait = Backoff.Delay(failures++, _options.InitialRetryDelay, _options.MaxRetryDelay, _random());
            }
            catch (RosterRequestException)
            {
                // Refused (bad configuration, or a token without rights): retrying fast will not help.
                wait = _options.MaxRetryDelay;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(wait, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Registers every instance not currently registered; returns how many it registered.</summary>
    private async Task<int> RegisterMissingAsync(CancellationToken stopping)
    {
        var registered = _registered;
        var count = 0;
        for (var i = 0; i < _instances.Length; i++)
        {
            if (registered[i] is null)
            {
                var answer = await _client.RegisterAsync(_instances[i], stopping).ConfigureAwait(false);
                if (_everRegistered[i])
                {
                    Diagnostics.RosterClientTelemetry.Reregistrations.Add(1);
                }

                _everRegistered[i] = true;
                var next = (RegisteredInstance?[])registered.Clone();
                next[i] = answer;
                _registered = registered = next;
                count++;
            }
        }

        return count;
    }

    private async Task RenewAsync(CancellationToken stopping)
    {
        var registered = _registered;
        var results = await _client.RenewAsync([.. registered.Select(r => LeaseRenewal.Of(r!))], stopping).ConfigureAwait(false);
        var lost = results.Count(r => r != RenewalResult.Ok);
        Diagnostics.RosterClientTelemetry.Renewals.Add(results.Count - lost, new KeyValuePair<string, object?>("roster.outcome", "ok"));
        if (lost > 0)
        {
            Diagnostics.RosterClientTelemetry.Renewals.Add(lost, new KeyValuePair<string, object?>("roster.outcome", "lost"));
            var next = (RegisteredInstance?[])registered.Clone();
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i] != RenewalResult.Ok)
                {
                    next[i] = null;
                }
            }

            _registered = next;
        }

        Renewed?.Invoke(this, EventArgs.Empty);
    }

    private TimeSpan RenewInterval()
    {
        var ttl = _registered.Min(r => r?.TtlSeconds ?? 10);
        var third = TimeSpan.FromSeconds(ttl / 3.0);
        return third * (1 + _options.RenewJitter * (2 * _random() - 1));
    }

    private static async Task ForEachAsync(IEnumerable<RegisteredInstance> instances, Func<RegisteredInstance, Task> step)
    {
        foreach (var instance in instances)
        {
            try
            {
                await step(instance).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RosterUnavailableException or RosterRequestException)
            {
                // Best effort: an instance we cannot drain or deregister expires with its lease.
            }
        }
    }
}
