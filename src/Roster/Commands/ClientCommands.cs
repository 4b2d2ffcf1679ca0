using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Roster.Cli.Commands;

/// <summary>Commands that talk to a running node: services, instances, watch, register, deregister, drain, undrain, status, cluster.</summary>
internal static class ClientCommands
{
    private static readonly Option<string> Server = new("--server", "-s")
    {
        Description = "Base address of a registry node (or set ROSTER_SERVER).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ROSTER_SERVER") ?? "http://127.0.0.1:8080",
        Recursive = true,
    };

    private static readonly Option<string> Namespace = new("--namespace", "-n")
    {
        Description = "Namespace.",
        DefaultValueFactory = _ => "default",
        Recursive = true,
    };

    private static readonly Option<bool> Json = new("--json") { Description = "Print JSON for scripts instead of tables.", Recursive = true };

    private static readonly Option<string?> Token = new("--token")
    {
        Description = "Bearer token (or set ROSTER_TOKEN).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ROSTER_TOKEN"),
        Recursive = true,
    };

    public static IEnumerable<Command> Create(TextWriter output)
    {
        var service = new Argument<string>("service") { Description = "Service name." };
        var id = new Argument<string>("id") { Description = "Instance id." };

        var status = new Command("status", "Show the node's registry id, revision and readiness.") { Server, Json, Token };
        status.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            using var doc = await GetJsonAsync(client, "api/v1/status", ct).ConfigureAwait(false);
            if (json)
            {
                await WriteJsonAsync(output, doc.RootElement).ConfigureAwait(false);
                return;
            }

            await Table.WriteAsync(output, ["FIELD", "VALUE"],
                doc.RootElement.EnumerateObject().Select(p => new[] { p.Name, Text(p.Value) })).ConfigureAwait(false);
        }, ct));
        yield return status;

        var cluster = new Command("cluster", "Show every node of the cluster: status, applied revision, lag, leases, watchers, when last heard.") { Server, Json, Token };
        cluster.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            using var doc = await GetJsonAsync(client, "api/v1/cluster", ct).ConfigureAwait(false);
            if (json)
            {
                await WriteJsonAsync(output, doc.RootElement).ConfigureAwait(false);
                return;
            }

            var stream = doc.RootElement.GetProperty("stream");
            await output.WriteLineAsync(
                $"registry {Text(doc.RootElement.GetProperty("registryId"))}, stream positions {Text(stream.GetProperty("firstPosition"))} to {Text(stream.GetProperty("lastPosition"))}").ConfigureAwait(false);
            await Table.WriteAsync(output, ["NODE", "ADDRESS", "STATUS", "REVISION", "LAG", "LEASES", "WATCHERS", "HEARD"],
                doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => new[]
                {
                    Text(n.GetProperty("id")) + (n.GetProperty("self").GetBoolean() ? " (this)" : string.Empty), Text(n.GetProperty("address")),
                    Text(n.GetProperty("status")), Text(n.GetProperty("revision")), Text(n.GetProperty("lag")), Text(n.GetProperty("leases")),
                    Text(n.GetProperty("watchers")), Text(n.GetProperty("lastHeardSeconds")) + " s ago",
                })).ConfigureAwait(false);
        }, ct));
        yield return cluster;

        var services = new Command("services", "List the services of a namespace.") { Server, Namespace, Json, Token };
        services.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            using var doc = await GetJsonAsync(client, $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/services", ct).ConfigureAwait(false);
            if (json)
            {
                await WriteJsonAsync(output, doc.RootElement).ConfigureAwait(false);
                return;
            }

            await Table.WriteAsync(output, ["SERVICE", "INSTANCES", "SEQUENCE", "DIGEST"],
                doc.RootElement.GetProperty("services").EnumerateArray().Select(s => new[]
                {
                    Text(s.GetProperty("name")), Text(s.GetProperty("instances")), Text(s.GetProperty("sequence")), Text(s.GetProperty("digest")),
                })).ConfigureAwait(false);
        }, ct));
        yield return services;

        var instances = new Command("instances", "List the instances of a service.") { service, Server, Namespace, Json, Token };
        instances.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            using var doc = await GetJsonAsync(client, ServicePath(ns, parse.GetValue(service)!), ct).ConfigureAwait(false);
            if (json)
            {
                await WriteJsonAsync(output, doc.RootElement).ConfigureAwait(false);
                return;
            }

            await Table.WriteAsync(output, ["ID", "ADDRESS", "PORT", "ZONE", "VERSION", "WEIGHT", "STATE", "INCARNATION"],
                doc.RootElement.GetProperty("instances").EnumerateArray().Select(i => new[]
                {
                    Text(i.GetProperty("id")), Text(i.GetProperty("address")), Text(i.GetProperty("port")), Text(i.GetProperty("zone")),
                    Text(i.GetProperty("version")), Text(i.GetProperty("effectiveWeight")), StateOf(i), Text(i.GetProperty("incarnation")),
                })).ConfigureAwait(false);
        }, ct));
        yield return instances;

        var since = new Option<long?>("--since") { Description = "Resume after this revision instead of starting with the full list." };
        var maxEvents = new Option<int?>("--max-events") { Description = "Stop after this many events." };
        var watch = new Command("watch", "Print changes to a service as they happen (Ctrl+C to stop).")
        {
            service, since, maxEvents, Server, Namespace, Json, Token,
        };
        watch.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            client.Timeout = Timeout.InfiniteTimeSpan;
            var path = $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/watch?service={Uri.EscapeDataString(parse.GetValue(service)!)}";
            if (parse.GetValue(since) is { } from)
            {
                path += $"&since={from}";
            }

            using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            await EnsureSuccessAsync(response, ct).ConfigureAwait(false);
            var limit = parse.GetValue(maxEvents) ?? int.MaxValue;
            var seen = 0;
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync(json ? item.Data : Describe(item.EventType, item.Data)).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
                if (item.EventType == "disconnect" || ++seen >= limit)
                {
                    break;
                }
            }
        }, ct));
        yield return watch;

        var address = new Option<string>("--address") { Description = "IP address or host name.", Required = true };
        var port = new Option<int>("--port") { Description = "Port.", Required = true };
        var scheme = new Option<string?>("--scheme") { Description = "http (default), https, grpc, ..." };
        var zone = new Option<string?>("--zone") { Description = "Zone, for zone-aware routing." };
        var version = new Option<string?>("--version") { Description = "Version of the service." };
        var weight = new Option<int?>("--weight") { Description = "Relative weight (default 100; 0 = no new traffic)." };
        var metadata = new Option<string[]>("--metadata", "-m") { Description = "key=value, repeatable.", AllowMultipleArgumentsPerToken = false };
        var ttl = new Option<int?>("--ttl") { Description = "Lease TTL in seconds: the instance expires unless renewed. Without it the instance is persistent." };
        var register = new Command("register", "Register an instance (persistent unless --ttl is given).")
        {
            service, id, address, port, scheme, zone, version, weight, metadata, ttl, Server, Namespace, Json, Token,
        };
        register.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in parse.GetValue(metadata) ?? [])
            {
                var split = pair.IndexOf('=', StringComparison.Ordinal);
                if (split <= 0)
                {
                    throw new CommandException($"--metadata expects key=value, got '{pair}'.", RosterCommandLine.BadArguments);
                }

                pairs[pair[..split]] = pair[(split + 1)..];
            }

            var body = JsonBody(w =>
            {
                w.WriteString("address", parse.GetValue(address));
                w.WriteNumber("port", parse.GetValue(port));
                WriteIfSet(w, "scheme", parse.GetValue(scheme));
                WriteIfSet(w, "zone", parse.GetValue(zone));
                WriteIfSet(w, "version", parse.GetValue(version));
                if (parse.GetValue(weight) is { } weightValue)
                {
                    w.WriteNumber("weight", weightValue);
                }

                if (pairs.Count > 0)
                {
                    w.WriteStartObject("metadata");
                    foreach (var (key, value) in pairs)
                    {
                        w.WriteString(key, value);
                    }

                    w.WriteEndObject();
                }

                if (parse.GetValue(ttl) is { } ttlValue)
                {
                    w.WriteNumber("ttlSeconds", ttlValue);
                }
                else
                {
                    w.WriteBoolean("persistent", true);
                }
            });
            using var response = await client.PutAsync(InstancePath(ns, parse.GetValue(service)!, parse.GetValue(id)!), body, ct).ConfigureAwait(false);
            await PrintInstanceAsync(output, response, json, "registered", ct).ConfigureAwait(false);
        }, ct));
        yield return register;

        var deregister = new Command("deregister", "Remove an instance.") { service, id, Server, Namespace, Json, Token };
        deregister.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
        {
            using var response = await client.DeleteAsync(InstancePath(ns, parse.GetValue(service)!, parse.GetValue(id)!), ct).ConfigureAwait(false);
            await EnsureSuccessAsync(response, ct).ConfigureAwait(false);
            await output.WriteLineAsync(json ? "{\"deregistered\":true}" : $"deregistered {parse.GetValue(service)}/{parse.GetValue(id)}").ConfigureAwait(false);
        }, ct));
        yield return deregister;

        foreach (var (name, drained) in new[] { ("drain", true), ("undrain", false) })
        {
            var command = new Command(name, drained
                ? "Send no new traffic to an instance (operator state; survives re-registration)."
                : "Let an instance receive traffic again.")
            {
                service, id, Server, Namespace, Json, Token,
            };
            command.SetAction((parse, ct) => RunAsync(parse, output, async (client, ns, json) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Patch, InstancePath(ns, parse.GetValue(service)!, parse.GetValue(id)!))
                {
                    Content = JsonBody(w => w.WriteBoolean("drained", drained)),
                };
                using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
                await PrintInstanceAsync(output, response, json, drained ? "drained" : "undrained", ct).ConfigureAwait(false);
            }, ct));
            yield return command;
        }
    }

    private static async Task<int> RunAsync(
        ParseResult parse, TextWriter output, Func<HttpClient, string, bool, Task> action, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        var server = parse.GetValue(Server)!;
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var baseAddress)
            || baseAddress.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync($"error: --server must be an http(s) address, got '{server}'.").ConfigureAwait(false);
            return RosterCommandLine.BadArguments;
        }

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        if (parse.GetValue(Token) is { Length: > 0 } token)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        try
        {
            await action(client, parse.GetValue(Namespace) ?? "default", parse.GetValue(Json)).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (CommandException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"error: cannot reach Roster at {baseAddress}: {ex.Message}").ConfigureAwait(false);
            return RosterCommandLine.Unreachable;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync($"error: Roster at {baseAddress} did not answer within {client.Timeout.TotalSeconds:0} s.").ConfigureAwait(false);
            return RosterCommandLine.Unreachable;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static string InstancePath(string ns, string service, string id) =>
        $"{ServicePath(ns, service)}/instances/{Uri.EscapeDataString(id)}";

    private static string ServicePath(string ns, string service) =>
        $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/services/{Uri.EscapeDataString(service)}";

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string path, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(path, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Turns a problem response into a <see cref="CommandException"/> that says what the node said.</summary>
    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            using var problem = JsonDocument.Parse(text);
            var root = problem.RootElement;
            if (root.TryGetProperty("detail", out var detail))
            {
                message += $": {detail.GetString()}";
            }

            if (root.TryGetProperty("field", out var field))
            {
                message += $" (field: {field.GetString()})";
            }
        }
        catch (JsonException)
        {
            message += text.Length > 0 ? $": {text}" : string.Empty;
        }

        throw new CommandException(message, RosterCommandLine.Refused);
    }

    private static async Task PrintInstanceAsync(TextWriter output, HttpResponseMessage response, bool json, string verb, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        var root = doc.RootElement;
        if (json)
        {
            await WriteJsonAsync(output, root).ConfigureAwait(false);
            return;
        }

        await output.WriteLineAsync(
            $"{verb} {Text(root.GetProperty("service"))}/{Text(root.GetProperty("id"))} " +
            $"at {Text(root.GetProperty("address"))}:{Text(root.GetProperty("port"))} " +
            $"incarnation {Text(root.GetProperty("incarnation"))} state {StateOf(root)}").ConfigureAwait(false);
    }

    private static string Describe(string eventType, string data)
    {
        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            return eventType switch
            {
                "upsert" => $"{Text(root.GetProperty("revision"))} upsert {Text(root.GetProperty("service"))}/{Text(root.GetProperty("instance").GetProperty("id"))} " +
                            $"{Text(root.GetProperty("instance").GetProperty("address"))}:{Text(root.GetProperty("instance").GetProperty("port"))} {StateOf(root.GetProperty("instance"))}",
                "delete" => $"{Text(root.GetProperty("revision"))} delete {Text(root.GetProperty("service"))}/{Text(root.GetProperty("id"))} ({Text(root.GetProperty("reason"))})",
                "reset" => $"{Text(root.GetProperty("revision"))} reset " + string.Join(", ", root.GetProperty("services").EnumerateArray()
                    .Select(s => $"{Text(s.GetProperty("name"))}: {s.GetProperty("instances").GetArrayLength()} instances")),
                "disconnect" => $"disconnected ({Text(root.GetProperty("reason"))}); resume with --since {Text(root.GetProperty("resumeFrom"))}",
                _ => $"{eventType} {data}",
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"{eventType} {data}";
        }
    }

    private static string StateOf(JsonElement instance) =>
        instance.GetProperty("disabled").GetBoolean() ? "disabled"
        : instance.GetProperty("drained").GetBoolean() ? "drained"
        : "up";

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? string.Empty,
        JsonValueKind.Null => "-",
        _ => value.GetRawText(),
    };

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static ByteArrayContent JsonBody(Action<Utf8JsonWriter> write)
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

    private static async Task WriteJsonAsync(TextWriter output, JsonElement element)
    {
        var text = JsonSerializer.Serialize(element, CliJsonContext.Default.JsonElement);
        await output.WriteLineAsync(text).ConfigureAwait(false);
    }
}
