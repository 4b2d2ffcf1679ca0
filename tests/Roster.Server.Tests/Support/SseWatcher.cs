using System.Net.ServerSentEvents;

namespace Roster.Server.Tests.Support;

/// <summary>Reads a watch stream into a <see cref="WatcherModel"/>, reconnecting with Last-Event-ID when asked.</summary>
public static class SseWatcher
{
    /// <summary>
    /// Streams until <paramref name="stop"/> fires or, when <paramref name="maxEvents"/> is set, until that
    /// many change events arrived. Resumes from the model's last revision when it has one.
    /// </summary>
    public static async Task RunAsync(HttpClient client, string ns, IReadOnlyList<string> services, WatcherModel model, bool resume, int? maxEvents, CancellationToken stop)
    {
        var path = $"/api/v1/namespaces/{ns}/watch" + (services.Count == 0 ? string.Empty : "?" + string.Join('&', services.Select(s => $"service={s}")));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (resume)
        {
            request.Headers.Add("Last-Event-ID", model.LastRevision.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(stop);
        var seen = 0;
        try
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(stop))
            {
                if (item.EventType == "disconnect")
                {
                    model.Failures.Add($"{model.Name}: disconnected: {item.Data}");
                    return;
                }

                model.Apply(item.EventType, item.Data);
                if (item.EventType is "upsert" or "delete" && ++seen == maxEvents)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
