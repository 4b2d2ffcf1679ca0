using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Roster.Client.Api;
using Roster.Client.Connection;

namespace Roster.Client;

/// <summary>
/// The registry's API as calls: register, renew in one batch, deregister. Each call goes to whichever
/// configured node can take it (<see cref="RosterClientOptions"/>), within one deadline. Thread-safe;
/// make one per process and share it.
/// </summary>
public sealed class RosterClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private readonly RegistryConnection _connection;

    /// <summary>Creates a client.</summary>
    /// <param name="options">The registry nodes and deadlines; validated here.</param>
    /// <param name="handler">The HTTP handler to send through; a new <see cref="SocketsHttpHandler"/> when null.</param>
    /// <param name="time">The clock for deadlines and backoff; the system's when null.</param>
    public RosterClient(RosterClientOptions options, HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        _connection = new RegistryConnection(options, handler, time);
    }

    internal RosterClient(RegistryConnection connection)
    {
        _connection = connection;
    }

    /// <summary>Registers (or re-registers) an instance with a lease and returns the incarnation to renew.</summary>
    /// <exception cref="RosterRequestException">The registry refused the registration; <see cref="RosterRequestException.Field"/> names the field.</exception>
    /// <exception cref="RosterUnavailableException">No node answered before the deadline.</exception>
    public async Task<RegisteredInstance> RegisterAsync(InstanceRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new RegisterBody(registration.Address, registration.Port, registration.Scheme, registration.Zone, registration.Version,
                registration.Weight, registration.Metadata, registration.TtlSeconds),
            ClientJsonContext.Default.RegisterBody);
        var path = InstancePath(registration.Namespace, registration.Service, registration.Id);
        using var response = await _connection.SendAsync(node => Request(HttpMethod.Put, node, path, body), cancellationToken).ConfigureAwait(false);
        var answer = await ReadAsync(response, ClientJsonContext.Default.InstanceAnswer, cancellationToken).ConfigureAwait(false);
        return new RegisteredInstance(registration.Namespace, registration.Service, answer.Id, answer.Incarnation, answer.Revision, answer.TtlSeconds);
    }

    /// <summary>Renews many leases in one request; the results are in the order of <paramref name="leases"/>.</summary>
    /// <exception cref="RosterRequestException">The registry refused the batch (a malformed item refuses all).</exception>
    /// <exception cref="RosterUnavailableException">No node answered before the deadline.</exception>
    public async Task<IReadOnlyList<RenewalResult>> RenewAsync(IReadOnlyList<LeaseRenewal> leases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leases);
        if (leases.Count == 0)
        {
            return [];
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new RenewBody(leases), ClientJsonContext.Default.RenewBody);
        using var response = await _connection.SendAsync(node => Request(HttpMethod.Post, node, "api/v1/leases/renew", body), cancellationToken).ConfigureAwait(false);
        var answer = await ReadAsync(response, ClientJsonContext.Default.RenewAnswer, cancellationToken).ConfigureAwait(false);
        if (answer.Results.Count != leases.Count)
        {
            throw new InvalidDataException($"The registry answered {answer.Results.Count} renewal results for {leases.Count} leases.");
        }

        return [.. answer.Results.Select(r => r switch
        {
            "ok" => RenewalResult.Ok,
            "stale-incarnation" => RenewalResult.StaleIncarnation,
            _ => RenewalResult.Unknown,
        })];
    }

    /// <summary>
    /// Deregisters an instance; with <paramref name="incarnation"/>, only that registration (a newer one
    /// stays). An instance that is already gone counts as deregistered.
    /// </summary>
    /// <exception cref="RosterRequestException">The registry refused the call.</exception>
    /// <exception cref="RosterUnavailableException">No node answered before the deadline.</exception>
    public async Task DeregisterAsync(string @namespace, string service, string id, long? incarnation = null, CancellationToken cancellationToken = default)
    {
        var path = InstancePath(@namespace, service, id) + (incarnation is { } value ? $"?incarnation={value}" : "");
        using var response = await _connection.SendAsync(node => Request(HttpMethod.Delete, node, path, body: null), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Marks an instance drained (consumers send it no new requests) or clears the mark. The mark is
    /// operator state: it outlives re-registration until cleared or the instance is deregistered.
    /// </summary>
    /// <exception cref="RosterRequestException">The registry refused the call, for example 404 for an unknown instance.</exception>
    /// <exception cref="RosterUnavailableException">No node answered before the deadline.</exception>
    public async Task SetDrainedAsync(string @namespace, string service, string id, bool drained, CancellationToken cancellationToken = default)
    {
        var path = InstancePath(@namespace, service, id);
        byte[] body = drained ? """{"drained":true}"""u8.ToArray() : """{"drained":false}"""u8.ToArray();
        using var response = await _connection.SendAsync(node => Request(HttpMethod.Patch, node, path, body), cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();

    /// <summary>The connection the client calls through; discovery opens its watch streams on it too.</summary>
    internal RegistryConnection Connection => _connection;

    /// <summary>Reads one JSON answer from <paramref name="path"/> on whichever node answers.</summary>
    internal async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await _connection.SendAsync(node => Request(HttpMethod.Get, node, path, body: null), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, type, cancellationToken).ConfigureAwait(false);
    }

    private static string InstancePath(string @namespace, string service, string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentException.ThrowIfNullOrEmpty(id);
        return $"api/v1/namespaces/{Uri.EscapeDataString(@namespace)}/services/{Uri.EscapeDataString(service)}/instances/{Uri.EscapeDataString(id)}";
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri node, string path, byte[]? body)
    {
        var request = new HttpRequestMessage(method, new Uri(node, path));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonType;
        }

        return request;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException("The registry answered an empty body.");
        }
    }

    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        ProblemAnswer? problem = null;
        try
        {
            var text = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            problem = text.Length == 0 ? null : JsonSerializer.Deserialize(text, ClientJsonContext.Default.ProblemAnswer);
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page, say): the status alone is reported.
        }

        throw new RosterRequestException(response.StatusCode, problem?.Title ?? response.ReasonPhrase ?? "Refused", problem?.Detail, problem?.Field);
    }
}
