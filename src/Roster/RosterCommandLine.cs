using System.CommandLine;
using Roster.Cli.Commands;

namespace Roster.Cli;

/// <summary>
/// The <c>roster</c> command line: <c>roster serve</c> runs a registry node; every other command talks to
/// a running node over its HTTP API (one type per command in <c>Commands/</c>). Exit codes: 0 success, 1 the
/// node refused the request, 2 the node could not be reached, 3 bad command-line arguments, 4 (<c>serve</c>)
/// the data directory is damaged.
/// </summary>
internal static class RosterCommandLine
{
    public const int Refused = 1;
    public const int Unreachable = 2;
    public const int BadArguments = 3;
    public const int DataDirectoryDamaged = 4;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Roster: a service registry and discovery system for .NET microservices.")
        {
            ServeCommand.Create(),
            StatusCommand.Create(output),
            ClusterCommand.Create(output),
            ServicesCommand.Create(output),
            InstancesCommand.Create(output),
            WatchCommand.Create(output),
            RegisterCommand.Create(output),
            DeregisterCommand.Create(output),
            AuditCommand.Create(output),
            DebugCommand.Create(output),
        };
        foreach (var command in DrainCommand.Create(output))
        {
            root.Add(command);
        }

        root.Add(CompletionCommand.Create(root, output));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.CommandResult.Command is not null)
        {
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync($"error: {parseError.Message}").ConfigureAwait(false);
            }

            return BadArguments;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }).ConfigureAwait(false);
    }
}
