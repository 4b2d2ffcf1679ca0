using System.Text;

namespace Roster.Cli.Commands;

/// <summary>Plain-text tables: columns padded to the widest cell.</summary>
internal static class Table
{
    public static async Task WriteAsync(TextWriter output, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        var line = new StringBuilder();
        foreach (var row in all.Prepend(headers))
        {
            line.Clear();
            for (var i = 0; i < row.Length; i++)
            {
                line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            await output.WriteLineAsync(line.ToString().TrimEnd()).ConfigureAwait(false);
        }

        if (all.Count == 0)
        {
            await output.WriteLineAsync("(none)").ConfigureAwait(false);
        }
    }
}
