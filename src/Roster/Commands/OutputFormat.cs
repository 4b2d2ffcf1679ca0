namespace Roster.Cli.Commands;

/// <summary>How a command prints what the node answered (<c>-o</c>).</summary>
internal enum OutputFormat
{
    /// <summary>Columns for people.</summary>
    Table,

    /// <summary>The node's answer as indented JSON.</summary>
    Json,

    /// <summary>One compact JSON object per line: each item of a list, each event of a watch.</summary>
    Ndjson,
}
