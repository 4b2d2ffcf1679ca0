using System.Text;
using System.Text.Json;
using CsCheck;

namespace Roster.Server.Tests.Api;

/// <summary>A generated request: method, path, body, content type and extra headers.</summary>
internal sealed record FuzzRequest(HttpMethod Method, string Path, string? Body, string? ContentType, (string Name, string Value)[] Headers)
{
    public override string ToString() =>
        $"{Method} {Path} [{ContentType}] {(Body is null ? "(no body)" : Body.Length > 200 ? Body[..200] + "…" : Body)} {string.Join(' ', Headers.Select(h => $"{h.Name}: {h.Value}"))}";
}

/// <summary>
/// Sends generated requests to a node one at a time, from one CsCheck sequence (a failing run prints its seed;
/// <c>CsCheck_Seed=...</c> replays it), and checks what every API must do: never a 5xx, an answer the API's clients can
/// read (<c>check</c>), and the registry's revision moved only by a 2xx.
/// </summary>
internal static class GeneratedRequests
{
    /// <summary>Runs <paramref name="count"/> requests of <paramref name="requests"/> through <paramref name="client"/>,
    /// asking <paramref name="check"/> why an answer below 500 is wrong (null when it is right) and reporting to
    /// <paramref name="writeLine"/>; returns how many got each status.</summary>
    public static async Task<Dictionary<int, int>> RunAsync(
        Gen<FuzzRequest> requests, int count, HttpClient client, Func<FuzzRequest, HttpResponseMessage, Task<string?>> check, Action<string> writeLine)
    {
        var failures = new List<string>();
        var answered = new Dictionary<int, int>();
        await requests.Array[count].SampleAsync(
            async sample =>
            {
                foreach (var fuzz in sample)
                {
                    var before = await RevisionAsync(client);
                    using (var request = ToMessage(fuzz))
                    {
                        // A watch that is accepted streams for ever: its headers are its answer.
                        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                        var status = (int)response.StatusCode;
                        answered[status] = answered.GetValueOrDefault(status) + 1;
                        if (status >= 500)
                        {
                            failures.Add($"{fuzz}: answered {status}: {await response.Content.ReadAsStringAsync()}");
                        }
                        else if (await check(fuzz, response) is { } wrong)
                        {
                            failures.Add($"{fuzz}: {wrong}");
                        }

                        var after = await RevisionAsync(client);
                        if (status is < 200 or >= 300 && after != before)
                        {
                            failures.Add($"{fuzz}: answered {status} but the revision moved from {before} to {after}");
                        }
                    }

                    Assert.True(failures.Count == 0, string.Join("\n", failures));
                }
            },
            writeLine: writeLine,
            seed: Environment.GetEnvironmentVariable("CsCheck_Seed"),
            iter: 1,
            threads: 1,
            print: sample => $"{sample.Length:N0} requests (the failing one is named above)");

        writeLine($"{count:N0} requests; answers: {string.Join(", ", answered.OrderBy(a => a.Key).Select(a => $"{a.Key}: {a.Value}"))}");
        Assert.Empty(failures);
        return answered;
    }

    private static HttpRequestMessage ToMessage(FuzzRequest fuzz)
    {
        var request = new HttpRequestMessage(fuzz.Method, fuzz.Path);
        if (fuzz.Body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(fuzz.Body));
            if (fuzz.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", fuzz.ContentType);
            }
        }

        foreach (var (name, value) in fuzz.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private static async Task<long> RevisionAsync(HttpClient client)
    {
        using var status = await client.GetAsync(new Uri("/api/v1/status", UriKind.Relative));
        using var doc = JsonDocument.Parse(await status.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("revision").GetInt64();
    }
}
