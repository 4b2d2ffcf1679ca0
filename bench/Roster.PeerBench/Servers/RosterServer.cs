using System.Diagnostics;
using System.Globalization;

namespace Roster.PeerBench.Servers;

/// <summary>
/// <c>roster serve</c> with its embedded log in the data directory, or with <paramref name="brokers"/> a node
/// of a cluster replicating through those RabbitMQ brokers; ready when <c>/readyz</c> answers 200, which a
/// cluster node does once it has caught up with the stream.
/// </summary>
internal sealed class RosterServer(string dataDirectory, int? cpu, IReadOnlyList<Uri>? brokers = null) : PeerServer(dataDirectory, cpu)
{
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(1) };

    public override string Name => "roster";

    protected override ProcessStartInfo StartInfo()
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "roster.dll"), "serve", "--host", "127.0.0.1",
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--data-dir", DataDirectory])
        {
            start.ArgumentList.Add(arg);
        }

        if (brokers is not null)
        {
            start.ArgumentList.Add("--cluster");
            start.ArgumentList.Add(string.Join(',', brokers));
        }

        return start;
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _probe.GetAsync(new Uri(Address, "/readyz"), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
