using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Roster.Cli.Commands;

/// <summary>
/// What every command that talks to a node shares: its options (server, namespace, output, token, each with its
/// environment variable), one run with the CLI's exit codes, and turning a problem answer into a message.
/// </summary>
internal static class NodeCall
{
    public static readonly Option<string> Server = new("--server", "-s")
    {
        Description = "Base address of a registry node (or set ROSTER_SERVER).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ROSTER_SERVER") ?? "http://127.0.0.1:8080",
        Recursive = true,
    };

    public static readonly Option<string> Namespace = new("--namespace", "-n")
    {
        Description = "Namespace (or set ROSTER_NAMESPACE).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ROSTER_NAMESPACE") ?? "default",
        Recursive = true,
    };

    public static readonly Option<OutputFormat?> Output = new("--output", "-o")
    {
        Description = "table (default), json, or ndjson (one JSON object per line).",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Same as -o json.", Recursive = true };

    public static readonly Option<string?> Token = new("--token")
    {
        Description = "Bearer token (or set ROSTER_TOKEN).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ROSTER_TOKEN"),
        Recursive = true,
    };

    public static readonly Option<string?> CaFile = new("--ca-file")
    {
        Description = "PEM file of the CA that issued the node's HTTPS certificate, when the machine does not trust it (or set ROSTER_CA_FILE).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ROSTER_CA_FILE"),
        Recursive = true,
    };

    public static readonly Option<string?> ClientCertificate = new("--client-cert") { Description = "PEM client certificate, for a node that requires one (with --client-key).", Recursive = true };

    public static readonly Option<string?> ClientKey = new("--client-key") { Description = "PEM private key of --client-cert.", Recursive = true };

    /// <summary>A command with the connection and output options; <paramref name="namespaced"/> adds <c>--namespace</c>.</summary>
    public static Command Create(string name, string description, bool namespaced)
    {
        var command = new Command(name, description) { Server, Output, Json, Token, CaFile, ClientCertificate, ClientKey };
        if (namespaced)
        {
            command.Add(Namespace);
        }

        return command;
    }

    /// <summary>Runs <paramref name="action"/> against the node the options name, and maps what goes wrong to an exit code and a message.</summary>
    public static async Task<int> RunAsync(ParseResult parse, TextWriter output, Func<NodeSession, Task> action, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        var server = parse.GetValue(Server)!;
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var baseAddress)
            || baseAddress.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync($"error: --server must be an http(s) address, got '{server}'.").ConfigureAwait(false);
            return RosterCommandLine.BadArguments;
        }

        var handler = new SocketsHttpHandler();
        try
        {
            Roster.Client.Connection.RegistryTls.Configure(handler.SslOptions, parse.GetValue(CaFile), parse.GetValue(ClientCertificate), parse.GetValue(ClientKey));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            handler.Dispose();
            await error.WriteLineAsync($"error: --ca-file, --client-cert or --client-key cannot be used: {ex.Message}").ConfigureAwait(false);
            return RosterCommandLine.BadArguments;
        }

        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        if (parse.GetValue(Token) is { Length: > 0 } token)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var format = parse.GetValue(Output) ?? (parse.GetValue(Json) ? OutputFormat.Json : OutputFormat.Table);
        try
        {
            await action(new NodeSession(client, parse.GetValue(Namespace) ?? "default", format, output)).ConfigureAwait(false);
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

    /// <summary>Turns a problem response into a <see cref="CommandException"/> that says what the node said.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
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
}
