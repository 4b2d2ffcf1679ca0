using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Cluster.Tests.History;

/// <summary>
/// Records every write the test's clients made and what each was answered: acknowledged (with its revision),
/// refused, or unknown (a timeout, a 503 after the change may have been sent, a connection lost). Each instance
/// is written by one client at a time, so its writes are ordered; the final registry must then hold, for every
/// instance, what its last acknowledged write left, unless a later write with an unknown outcome may have
/// changed it. That is "no acknowledged write lost". Applied twice would show in a watcher's sequence numbers.
/// </summary>
internal sealed class WriteHistory
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Write>> _byInstance = new(StringComparer.Ordinal);

    public int Acknowledged { get; private set; }

    public int Unknown { get; private set; }

    /// <summary>Registers <paramref name="id"/> with <paramref name="port"/> at <paramref name="node"/>, retrying at the
    /// next node while the answer is a 503 or no answer; records each attempt.</summary>
    public Task RegisterAsync(IReadOnlyList<RosterProcess> nodes, int node, string service, string id, int port, int ttlSeconds = 60) =>
        SendAsync(nodes, node, service, id, port, client => client.PutAsync(
            new Uri($"/api/v1/namespaces/default/services/{service}/instances/{id}", UriKind.Relative),
            JsonContent.Create(new { address = "10.0.0.1", port, ttlSeconds })));

    /// <summary>Deregisters <paramref name="id"/> (404 counts as done: it is absent either way).</summary>
    public Task DeregisterAsync(IReadOnlyList<RosterProcess> nodes, int node, string service, string id) =>
        SendAsync(nodes, node, service, id, Absent, client => client.DeleteAsync(new Uri($"/api/v1/namespaces/default/services/{service}/instances/{id}", UriKind.Relative)));

    /// <summary>Drains or undrains <paramref name="id"/>: changes no presence or port, so it is not recorded.</summary>
    public static async Task DrainAsync(IReadOnlyList<RosterProcess> nodes, int node, string service, string id, bool drained)
    {
        for (var attempt = 0; attempt < 40; attempt++)
        {
            try
            {
                using var response = await nodes[(node + attempt) % nodes.Count].Client.PatchAsync(
                    new Uri($"/api/v1/namespaces/default/services/{service}/instances/{id}", UriKind.Relative),
                    JsonContent.Create(new { drained }));
                if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }
    }

    internal const int Absent = -1;

    private async Task SendAsync(IReadOnlyList<RosterProcess> nodes, int node, string service, string id, int port, Func<HttpClient, Task<HttpResponseMessage>> send)
    {
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var target = nodes[(node + attempt) % nodes.Count];
            try
            {
                using var response = await send(target.Client);
                if (response.IsSuccessStatusCode || (port == Absent && response.StatusCode == HttpStatusCode.NotFound))
                {
                    var revision = response.Headers.TryGetValues("Roster-Revision", out var values) ? long.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture) : 0;
                    Record(service, id, new Write(port, revision, Acknowledged: true));
                    return;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    throw new InvalidOperationException($"{id}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                // 503: not made ("bus-unavailable", "not-ready") or not known to be made (a timeout).
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (problem.TryGetProperty("type", out var type) && type.GetString()?.EndsWith("timeout", StringComparison.Ordinal) == true)
                {
                    Record(service, id, new Write(port, 0, Acknowledged: false));
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Record(service, id, new Write(port, 0, Acknowledged: false));
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{id} could not be written at any node.");
    }

    internal void Record(string service, string id, Write write)
    {
        lock (_lock)
        {
            var key = service + "/" + id;
            if (!_byInstance.TryGetValue(key, out var writes))
            {
                writes = [];
                _byInstance[key] = writes;
            }

            writes.Add(write);
            if (write.Acknowledged)
            {
                Acknowledged++;
            }
            else
            {
                Unknown++;
            }
        }
    }

    /// <summary>
    /// Checks <paramref name="ports"/> (service/id → port, as one node holds them) against the history: every
    /// instance holds the port of its last acknowledged registration, or is absent when that was a removal, or
    /// shows a later write whose outcome is unknown.
    /// </summary>
    public List<string> Check(IReadOnlyDictionary<string, int> ports)
    {
        var violations = new List<string>();
        lock (_lock)
        {
            foreach (var (key, writes) in _byInstance)
            {
                var lastAcknowledged = writes.FindLastIndex(w => w.Acknowledged);
                if (lastAcknowledged < 0)
                {
                    continue;
                }

                var allowed = writes.Skip(lastAcknowledged).Select(w => w.Port).ToHashSet();
                var last = writes[lastAcknowledged];
                var held = ports.TryGetValue(key, out var port) ? port : Absent;
                if (!allowed.Contains(held))
                {
                    violations.Add(held == Absent
                        ? $"{key}: lost; its last acknowledged write (port {last.Port}, revision {last.Revision}) is not in the registry"
                        : last.Port == Absent
                            ? $"{key}: holds port {held}; it was acknowledged as removed at revision {last.Revision}"
                            : $"{key}: holds port {held}; its last acknowledged write set {last.Port}");
                }
            }
        }

        return violations;
    }

    internal readonly record struct Write(int Port, long Revision, bool Acknowledged);
}
