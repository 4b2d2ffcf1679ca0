using System.CommandLine;
using Roster.Core.Node;
using Microsoft.AspNetCore.Builder;
using Roster.Server;
using Roster.Server.Hosting;

namespace Roster.Cli.Commands;

/// <summary><c>roster serve</c>: runs a registry node in this process until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "TCP port of the HTTP API.", DefaultValueFactory = _ => 8080 };
        var host = new Option<string>("--host")
        {
            Description = "Address to listen on. 127.0.0.1 keeps the node private to this machine; 0.0.0.0 serves the network.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var dataDir = new Option<string>("--data-dir") { Description = "Directory of the durable log.", DefaultValueFactory = _ => "./data" };
        var inMemory = new Option<bool>("--in-memory") { Description = "Keep nothing on disk; a restart starts empty." };
        var acceptDataLoss = new Option<bool>("--accept-data-loss")
        {
            Description = "Start on a damaged data directory: keep what is intact, set damaged files aside, continue under a new registry id. Without it a damaged directory refuses to start.",
        };
        var cluster = new Option<string?>("--cluster")
        {
            Description = "Run a node of a cluster: the AMQP addresses of the RabbitMQ brokers, comma-separated (amqp://127.0.0.1:5672,...; amqps:// for TLS, see Roster:Cluster:CaFile). Same as Roster:Cluster:Brokers.",
        };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "Serve HTTPS with this PEM certificate (and chain). Same as Roster:Tls:CertificateFile." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "The PEM private key of --tls-cert. Same as Roster:Tls:KeyFile." };
        var tlsClientCa = new Option<string?>("--tls-client-ca") { Description = "Require client certificates issued by this PEM CA. Same as Roster:Tls:ClientCaFile." };
        var healthPort = new Option<int?>("--health-port")
        {
            Description = "Also answer /healthz and /readyz on this port (on --host), from a thread of their own: probes stay fast while the API is flooded. Same as Roster:Health:Port.",
        };
        var command = new Command("serve", "Run a registry node. Further --Roster:Section:Key=value arguments set any option (see README).")
        {
            port, host, dataDir, inMemory, acceptDataLoss, cluster, tlsCert, tlsKey, tlsClientCa, healthPort,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var portValue = parse.GetValue(port);
            if (portValue is < 0 or > 65535)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: --port must be between 0 and 65535.").ConfigureAwait(false);
                return RosterCommandLine.BadArguments;
            }

            if (parse.GetValue(healthPort) is < 0 or > 65535)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: --health-port must be between 0 and 65535.").ConfigureAwait(false);
                return RosterCommandLine.BadArguments;
            }

            if (FindStrayArgument(parse.UnmatchedTokens) is { } stray)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(
                    $"error: '{stray}' is not an option of roster serve (see roster serve --help); settings are given as --Roster:Section:Key=value.").ConfigureAwait(false);
                return RosterCommandLine.BadArguments;
            }

            var brokers = new List<string>();
            foreach (var broker in (parse.GetValue(cluster) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps") || uri.Host.Length == 0)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync(
                        $"error: --cluster: '{broker}' is not a broker address; give amqp://host:port addresses, comma-separated.").ConfigureAwait(false);
                    return RosterCommandLine.BadArguments;
                }

                brokers.Add($"--Roster:Cluster:Brokers:{brokers.Count}={uri}");
            }

            var tls = new List<string>();
            if (parse.GetValue(tlsCert) is { Length: > 0 } certificate)
            {
                tls.Add($"--Roster:Tls:CertificateFile={certificate}");
            }

            if (parse.GetValue(tlsKey) is { Length: > 0 } key)
            {
                tls.Add($"--Roster:Tls:KeyFile={key}");
            }

            if (parse.GetValue(tlsClientCa) is { Length: > 0 } clientCa)
            {
                tls.Add($"--Roster:Tls:ClientCaFile={clientCa}");
            }

            string[] health = parse.GetValue(healthPort) is { } probePort
                ? [$"--Roster:Health:Port={probePort}", $"--Roster:Health:Address={parse.GetValue(host)}"]
                : [];
            var https = tls.Count > 0 || parse.UnmatchedTokens.Any(t => t.StartsWith("--Roster:Tls:CertificateFile=", StringComparison.OrdinalIgnoreCase));
            string[] serverArgs =
            [
                $"--urls={(https ? "https" : "http")}://{parse.GetValue(host)}:{portValue}",
                .. tls,
                .. health,
                $"--Roster:Storage:DataDirectory={parse.GetValue(dataDir)}",
                $"--Roster:Storage:InMemory={parse.GetValue(inMemory)}",
                $"--Roster:Storage:AcceptDataLoss={parse.GetValue(acceptDataLoss)}",
                .. brokers,
                .. parse.UnmatchedTokens,
            ];
            WebApplication app;
            try
            {
                app = RosterServer.Build(serverArgs);
            }
            catch (UnknownSettingException unknown)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: " + unknown.Message).ConfigureAwait(false);
                return RosterCommandLine.BadArguments;
            }
            catch (InvalidOperationException tlsProblem)
                when (tlsProblem.Message.StartsWith("Roster:Tls", StringComparison.Ordinal) || tlsProblem.Message.StartsWith("Roster:Cluster:", StringComparison.Ordinal))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: " + tlsProblem.Message).ConfigureAwait(false);
                return RosterCommandLine.BadArguments;
            }

            try
            {
                await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.RunAsync(app, cancellationToken).ConfigureAwait(false);
            }
            catch (DataDirectoryDamagedException damaged)
            {
                // The node logged the whole report (files, revisions, the way out) as it refused.
                await parse.InvocationConfiguration.Error.WriteLineAsync(
                    $"error: the data directory '{damaged.DataDirectory}' is damaged where the node needs it (the log above lists what and where); the node did not start.").ConfigureAwait(false);
                return RosterCommandLine.DataDirectoryDamaged;
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The first argument that is neither an option of <c>serve</c> nor a configuration setting
    /// (<c>--Section:Key=value</c> or <c>--Section:Key value</c>): <c>--prot 8080</c> must not start a node on
    /// the default port without a word.
    /// </summary>
    private static string? FindStrayArgument(IReadOnlyList<string> unmatched)
    {
        for (var i = 0; i < unmatched.Count; i++)
        {
            var token = unmatched[i];
            if (!token.StartsWith("--", StringComparison.Ordinal))
            {
                return token;
            }

            var key = token.Split('=', 2)[0];
            if (!key.Contains(':', StringComparison.Ordinal))
            {
                return token;
            }

            if (!token.Contains('=', StringComparison.Ordinal) && i + 1 < unmatched.Count && !unmatched[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                i++; // --Section:Key value
            }
        }

        return null;
    }
}
