using Roster.Cli;

return await RosterCommandLine.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
