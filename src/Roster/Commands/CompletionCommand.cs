using System.CommandLine;
using System.Globalization;
using System.Text;

namespace Roster.Cli.Commands;

/// <summary>
/// <c>roster completion bash|zsh|fish</c>: prints a completion script for the shell, made from the command
/// tree itself (so it lists exactly the commands and options this build has). Install, for example:
/// <c>roster completion bash &gt; /etc/bash_completion.d/roster</c>, or <c>source &lt;(roster completion bash)</c>.
/// </summary>
internal static class CompletionCommand
{
    private static readonly string[] Shells = ["bash", "zsh", "fish"];

    public static Command Create(RootCommand root, TextWriter output)
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish." };
        shell.AcceptOnlyFromAmong(Shells);
        var command = new Command("completion", "Print a shell completion script: source <(roster completion bash).") { shell };
        command.SetAction(async (parse, ct) =>
        {
            var script = parse.GetValue(shell) switch
            {
                "fish" => Fish(root),
                "zsh" => "#compdef roster\nautoload -U +X bashcompinit && bashcompinit\n" + Bash(root),
                _ => Bash(root),
            };
            await output.WriteAsync(script.AsMemory(), ct).ConfigureAwait(false);
            await output.FlushAsync(ct).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>Every name an option answers to: its name and aliases.</summary>
    private static IEnumerable<string> Names(Option option) => option.Aliases.Prepend(option.Name).Distinct();

    private static IEnumerable<Option> OptionsOf(Command command) => command.Options.Where(o => !o.Hidden);

    private static string Bash(RootCommand root)
    {
        var script = new StringBuilder();
        script.Append("# roster completion for bash: source <(roster completion bash)\n");
        script.Append("_roster() {\n");
        script.Append("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n");
        script.Append("    case \"$prev\" in\n");
        script.Append("        -o|--output) COMPREPLY=( $(compgen -W \"table json ndjson\" -- \"$cur\") ); return ;;\n");
        script.Append("    esac\n");
        script.Append("    if [ \"$COMP_CWORD\" -eq 1 ]; then\n");
        script.Append(CultureInfo.InvariantCulture, $"        COMPREPLY=( $(compgen -W \"{string.Join(' ', root.Subcommands.Select(c => c.Name))}\" -- \"$cur\") )\n");
        script.Append("        return\n    fi\n");
        script.Append("    case \"${COMP_WORDS[1]}\" in\n");
        foreach (var command in root.Subcommands)
        {
            var words = OptionsOf(command).SelectMany(Names).ToList();
            if (command.Name == "completion")
            {
                words.AddRange(Shells);
            }

            script.Append(CultureInfo.InvariantCulture, $"        {command.Name}) COMPREPLY=( $(compgen -W \"{string.Join(' ', words)}\" -- \"$cur\") ) ;;\n");
        }

        script.Append("    esac\n}\ncomplete -F _roster roster\n");
        return script.ToString();
    }

    private static string Fish(RootCommand root)
    {
        var script = new StringBuilder("# roster completion for fish: roster completion fish > ~/.config/fish/completions/roster.fish\ncomplete -c roster -f\n");
        foreach (var command in root.Subcommands)
        {
            script.Append(CultureInfo.InvariantCulture, $"complete -c roster -n __fish_use_subcommand -a {command.Name} -d {Quote(command.Description)}\n");
            foreach (var option in OptionsOf(command))
            {
                script.Append(CultureInfo.InvariantCulture, $"complete -c roster -n \"__fish_seen_subcommand_from {command.Name}\"");
                foreach (var name in Names(option))
                {
                    script.Append(name.StartsWith("--", StringComparison.Ordinal) ? $" -l {name[2..]}" : $" -s {name.TrimStart('-')}");
                }

                script.Append(option.Name == "--output" ? " -r -a \"table json ndjson\"" : string.Empty);
                script.Append(CultureInfo.InvariantCulture, $" -d {Quote(option.Description)}\n");
            }
        }

        script.Append(CultureInfo.InvariantCulture, $"complete -c roster -n \"__fish_seen_subcommand_from completion\" -a \"{string.Join(' ', Shells)}\"\n");
        return script.ToString();
    }

    private static string Quote(string? text) => "'" + (text ?? string.Empty).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
