using System.Net;
using System.Net.Http.Headers;

namespace Roster.Server.Tests.Api;

/// <summary>Large reads are compressed for clients that ask; writes and watch streams never are.</summary>
public sealed class CompressionTests
{
    [Fact]
    public async Task A_snapshot_is_gzipped_when_asked_for_and_writes_and_watch_streams_are_not()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        using var client = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = server.Address };
        client.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        for (var i = 0; i < 50; i++)
        {
            using var registered = await client.PutAsync(
                new Uri($"/api/v1/namespaces/prod/services/orders/instances/i{i}", UriKind.Relative),
                RosterTestServer.Json(new { address = "10.0.0.1", port = 8000 + i }));
            registered.EnsureSuccessStatusCode();
            Assert.Empty(registered.Content.Headers.ContentEncoding);
        }

        using var snapshot = await client.GetAsync(new Uri("/api/v1/namespaces/prod/services/orders", UriKind.Relative));
        snapshot.EnsureSuccessStatusCode();
        Assert.Equal(["gzip"], snapshot.Content.Headers.ContentEncoding);
        await using (var unzipped = new System.IO.Compression.GZipStream(await snapshot.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress))
        {
            var json = await System.Text.Json.JsonDocument.ParseAsync(unzipped);
            Assert.Equal(50, json.RootElement.GetProperty("instances").GetArrayLength());
        }

        using var watch = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/prod/watch");
        watch.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var stream = await client.SendAsync(watch, HttpCompletionOption.ResponseHeadersRead);
        stream.EnsureSuccessStatusCode();
        Assert.Empty(stream.Content.Headers.ContentEncoding);
    }
}
