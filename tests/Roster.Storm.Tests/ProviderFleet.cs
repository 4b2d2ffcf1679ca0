using System.Diagnostics;
using System.Net;
using Roster.Client;
using Roster.Client.Connection;

namespace Roster.Storm.Tests;

/// <summary>
/// Providers as a deployment starts them: each one a <see cref="RosterClient"/> with a connection of its own and a
/// <see cref="RegistrationAgent"/> keeping one instance registered, all started at the same moment. Every answer
/// the nodes give is tallied (<see cref="Responses"/>); each provider's last successful renewal is kept.
/// </summary>
internal sealed class ProviderFleet : IAsyncDisposable
{
    private readonly RosterClient[] _clients;
    private readonly ResponseTally[] _handlers;
    private readonly RegistrationAgent[] _agents;
    private readonly long[] _lastRenewed;

    private ProviderFleet(IReadOnlyList<Uri> nodes, int size, string @namespace, int ttlSeconds)
    {
        _clients = new RosterClient[size];
        _handlers = new ResponseTally[size];
        _agents = new RegistrationAgent[size];
        _lastRenewed = new long[size];
        for (var i = 0; i < size; i++)
        {
            // Spread over the nodes: provider i prefers node i mod n and fails over to the others in turn.
            var options = new RosterClientOptions();
            for (var n = 0; n < nodes.Count; n++)
            {
                options.Servers.Add(nodes[(i + n) % nodes.Count]);
            }

            _handlers[i] = new ResponseTally(RegistryTls.CreateHandler(options));
            _clients[i] = new RosterClient(options, _handlers[i]);
            var instance = new InstanceRegistration(@namespace, "svc-" + (i % 50).ToString("D2", System.Globalization.CultureInfo.InvariantCulture), "p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), $"10.{i / 65536 % 256}.{i / 256 % 256}.{i % 256}", 8080)
            {
                TtlSeconds = ttlSeconds,
            };
            _agents[i] = new RegistrationAgent(_clients[i], [instance]);
            var index = i;
            _agents[i].Renewed += (_, _) =>
            {
                // Renewed is raised after every renewal round; only a round in which the lease was kept counts.
                if (_agents[index].Registered[0] is not null)
                {
                    Volatile.Write(ref _lastRenewed[index], Stopwatch.GetTimestamp());
                }
            };
        }
    }

    public int Size => _agents.Length;

    /// <summary>Creates the fleet, then starts every provider at once.</summary>
    public static ProviderFleet Start(IReadOnlyList<Uri> nodes, int size, string @namespace, int ttlSeconds)
    {
        var fleet = new ProviderFleet(nodes, size, @namespace, ttlSeconds);
        foreach (var agent in fleet._agents)
        {
            agent.Start();
        }

        return fleet;
    }

    /// <summary>How many providers hold a registration the registry acknowledged.</summary>
    public int RegisteredCount => _agents.Count(a => a.Registered[0] is not null);

    /// <summary>Each provider's acknowledged incarnation (0 while it is registering).</summary>
    public long[] Incarnations() => [.. _agents.Select(a => a.Registered[0]?.Incarnation ?? 0)];

    /// <summary>How many providers renewed their lease after <paramref name="timestamp"/> (a <see cref="Stopwatch"/>
    /// timestamp) and still hold the incarnation in <paramref name="incarnations"/>: their instance was neither lost nor
    /// registered again.</summary>
    public int RenewedSince(long timestamp, long[] incarnations) =>
        Enumerable.Range(0, _agents.Length).Count(i =>
            Volatile.Read(ref _lastRenewed[i]) > timestamp && _agents[i].Registered[0]?.Incarnation == incarnations[i]);

    /// <summary>Every answer of every provider's connection added up.</summary>
    public ResponseCounts Responses()
    {
        var total = new ResponseCounts();
        foreach (var handler in _handlers)
        {
            total.Add(handler.Counts);
        }

        return total;
    }

    /// <summary>Stops the providers without draining or deregistering (a test's teardown, not a deployment's).</summary>
    public async ValueTask DisposeAsync()
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await Task.WhenAll(_agents.Select(async agent =>
        {
            try
            {
                await agent.StopAsync(now.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }));
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var handler in _handlers)
        {
            handler.Dispose();
        }
    }
}

/// <summary>What one provider's connection was answered.</summary>
internal sealed class ResponseCounts
{
    public long Answered { get; private set; }

    /// <summary>503 with Retry-After: the node turning work away as it should.</summary>
    public long Shed { get; private set; }

    /// <summary>Attempts that got no answer (a refused or reset connection, a timeout).</summary>
    public long Unanswered { get; private set; }

    /// <summary>Any other 5xx, with what the node said: what a node under a storm must never answer.</summary>
    public List<string> ServerErrors { get; } = [];

    public void Add(ResponseCounts other)
    {
        Answered += other.Answered;
        Shed += other.Shed;
        Unanswered += other.Unanswered;
        ServerErrors.AddRange(other.ServerErrors);
    }

    public void Record(HttpResponseMessage response, string body)
    {
        Answered++;
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null)
        {
            Shed++;
        }
        else if ((int)response.StatusCode >= 500)
        {
            ServerErrors.Add($"{(int)response.StatusCode} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: {body}");
        }
    }

    public void RecordUnanswered() => Unanswered++;

    public override string ToString() =>
        $"{Answered} answered, {Shed} shed (503 + Retry-After), {Unanswered} unanswered, {ServerErrors.Count} other 5xx";
}

/// <summary>Counts the answers on one provider's connection; one provider sends one request at a time.</summary>
internal sealed class ResponseTally(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private readonly Lock _gate = new();
    private readonly ResponseCounts _counts = new();

    public ResponseCounts Counts
    {
        get
        {
            var copy = new ResponseCounts();
            lock (_gate)
            {
                copy.Add(_counts);
            }

            return copy;
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            lock (_gate)
            {
                _counts.RecordUnanswered();
            }

            throw;
        }

        var shed = response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null;
        var body = (int)response.StatusCode >= 500 && !shed
            ? await response.Content.ReadAsStringAsync(cancellationToken)
            : string.Empty;
        lock (_gate)
        {
            _counts.Record(response, body);
        }

        return response;
    }
}
