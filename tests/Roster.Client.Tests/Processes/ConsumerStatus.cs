using System.Net.Http.Json;

namespace Roster.Client.Tests.Processes;

/// <summary>A consumer's <c>/roster/status</c> (see <c>MapRosterStatus</c>), read back.</summary>
internal sealed record ConsumerStatus(bool Draining, string? Namespace, IReadOnlyList<ConsumerStatus.Service> Services)
{
    public static async Task<ConsumerStatus> ReadAsync(HttpClient client) =>
        await client.GetFromJsonAsync<ConsumerStatus>(new Uri("/roster/status", UriKind.Relative))
        ?? throw new InvalidOperationException("The status was empty.");

    /// <summary>The "orders" list, when the consumer holds one.</summary>
    public Service? Orders => Services.SingleOrDefault(s => s.Name == "orders");

    internal sealed record Service(
        [property: System.Text.Json.Serialization.JsonPropertyName("service")] string Name, string Source, string Origin, long Sequence, double AgeSeconds,
        IReadOnlyList<Endpoint> Endpoints);

    internal sealed record Endpoint(
        string Id, int Port, bool Drained, int InFlight, long Sent, int ConsecutiveFailures, double EjectedForSeconds, double SkippedForSeconds);
}
