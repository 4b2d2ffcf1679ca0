using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Client.Tests.Processes;

/// <summary>
/// Callers of a sample consumer's <c>/orders/{id}</c>, each sending one request after another until
/// stopped: every answer that is not a provider's reply is kept as a failure, and replies are counted by
/// the provider process that served them.
/// </summary>
internal sealed class ConsumerLoad : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _callers;
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentDictionary<int, int> _servedBy = new();
    private int _sent;
    private int _disposed;

    public ConsumerLoad(Uri consumer, int callers)
    {
        _client = new HttpClient { BaseAddress = consumer, Timeout = TimeSpan.FromSeconds(30) };
        _callers = [.. Enumerable.Range(0, callers).Select(caller => Task.Run(() => CallAsync(caller)))];
    }

    public int Sent => Volatile.Read(ref _sent);

    public IReadOnlyCollection<string> Failures => _failures;

    /// <summary>How many replies each provider process (by PID) served.</summary>
    public IReadOnlyDictionary<int, int> ServedBy => _servedBy;

    /// <summary>Waits until at least <paramref name="count"/> more requests than now have been answered.</summary>
    public Task SendAtLeastAsync(int count, TimeSpan within)
    {
        var target = Sent + count;
        return Eventually.TrueAsync(() => Sent >= target, $"{count} more requests were answered", within);
    }

    /// <summary>Stops the callers and waits for them; may be called more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        await Task.WhenAll(_callers);
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task CallAsync(int caller)
    {
        for (var n = 0; !_stop.IsCancellationRequested; n++)
        {
            try
            {
                using var response = await _client.GetAsync(new Uri($"/orders/{caller}-{n}", UriKind.Relative), _stop.Token);
                if (response.IsSuccessStatusCode)
                {
                    var reply = await response.Content.ReadFromJsonAsync<JsonElement>(_stop.Token);
                    _servedBy.AddOrUpdate(reply.GetProperty("servedBy").GetInt32(), 1, (_, served) => served + 1);
                }
                else
                {
                    _failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(_stop.Token)}");
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Every failure is what the tests count.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {e.GetType().Name}: {e.Message}");
            }

            Interlocked.Increment(ref _sent);
        }
    }
}
