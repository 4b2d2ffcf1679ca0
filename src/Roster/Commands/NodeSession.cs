using System.Net.Http.Headers;
using System.Text.Json;

namespace Roster.Cli.Commands;

/// <summary>One command's connection to a node, its namespace and its output format, with the printing every command shares.</summary>
internal sealed class NodeSession(HttpClient client, string @namespace, OutputFormat format, TextWriter output)
{
    public HttpClient Client => client;

    public string Namespace => @namespace;

    public OutputFormat Format => format;

    public TextWriter Output => output;

    public static string ServicePath(string ns, string service) =>
        $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/services/{Uri.EscapeDataString(service)}";

    public static string InstancePath(string ns, string service, string id) =>
        $"{ServicePath(ns, service)}/instances/{Uri.EscapeDataString(id)}";

    public async Task<JsonDocument> GetJsonAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await NodeCall.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Prints a node's answer: as a table of the array <paramref name="items"/> (rows from <paramref name="row"/>),
    /// as the whole answer in JSON, or as one line per item in NDJSON.
    /// </summary>
    public async Task PrintListAsync(JsonElement answer, string items, string[] headers, Func<JsonElement, string[]> row)
    {
        switch (format)
        {
            case OutputFormat.Json:
                await WriteJsonAsync(answer, indented: true).ConfigureAwait(false);
                break;
            case OutputFormat.Ndjson:
                foreach (var item in answer.GetProperty(items).EnumerateArray())
                {
                    await WriteJsonAsync(item, indented: false).ConfigureAwait(false);
                }

                break;
            default:
                await Table.WriteAsync(output, headers, answer.GetProperty(items).EnumerateArray().Select(row)).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Prints one object: <paramref name="text"/> for a table, else the object itself as JSON (indented, or on one line).</summary>
    public async Task PrintObjectAsync(JsonElement answer, Func<JsonElement, Task> text)
    {
        if (format == OutputFormat.Table)
        {
            await text(answer).ConfigureAwait(false);
        }
        else
        {
            await WriteJsonAsync(answer, indented: format == OutputFormat.Json).ConfigureAwait(false);
        }
    }

    /// <summary>Prints the instance a write answered with, or the answer's JSON.</summary>
    public async Task PrintInstanceAsync(HttpResponseMessage response, string verb, CancellationToken cancellationToken)
    {
        await NodeCall.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        await PrintObjectAsync(doc.RootElement, root => output.WriteLineAsync(
            $"{verb} {Text(root.GetProperty("service"))}/{Text(root.GetProperty("id"))} " +
            $"at {Text(root.GetProperty("address"))}:{Text(root.GetProperty("port"))} " +
            $"incarnation {Text(root.GetProperty("incarnation"))} state {StateOf(root)}")).ConfigureAwait(false);
    }

    public async Task WriteJsonAsync(JsonElement element, bool indented)
    {
        var text = JsonSerializer.Serialize(element, indented ? CliJsonContext.Default.JsonElement : CliJsonContext.Compact.JsonElement);
        await output.WriteLineAsync(text).ConfigureAwait(false);
    }

    public static string StateOf(JsonElement instance) =>
        instance.GetProperty("disabled").GetBoolean() ? "disabled"
        : instance.GetProperty("drained").GetBoolean() ? "drained"
        : "up";

    public static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? string.Empty,
        JsonValueKind.Null => "-",
        _ => value.GetRawText(),
    };

    public static ByteArrayContent JsonBody(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        var content = new ByteArrayContent(stream.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
