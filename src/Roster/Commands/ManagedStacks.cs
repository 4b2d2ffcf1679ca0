using System.Text;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;

namespace Roster.Cli.Commands;

/// <summary>
/// The managed stacks of every thread of a running .NET process, and the async operations it is waiting in (its
/// loops mostly wait without a thread, so their state machines on the heap are where they are). The process writes a
/// dump of itself (<see cref="DiagnosticsClient.WriteDumpAsync(DumpType, string, bool, CancellationToken)"/>: it is
/// paused only while the dump is written, a second or a few); ClrMD reads it; the dump is deleted after.
/// </summary>
internal static class ManagedStacks
{
    public static async Task<string> ReadAsync(int pid, CancellationToken cancellationToken)
    {
        var dumpPath = Path.Combine(Path.GetTempPath(), $"roster-{pid}-{Guid.NewGuid():N}.dmp");
        try
        {
            await new DiagnosticsClient(pid).WriteDumpAsync(DumpType.WithHeap, dumpPath, logDumpGeneration: false, cancellationToken).ConfigureAwait(false);
            return Describe(dumpPath);
        }
        finally
        {
            File.Delete(dumpPath);
        }
    }

    private static string Describe(string dumpPath)
    {
        using var target = DataTarget.LoadDump(dumpPath);
        var clr = target.ClrVersions[0];

        // The runtime's data access library sits beside the process's libcoreclr on this machine (symbol servers are
        // not asked for it). It is that very runtime's, so the version check (which cannot read the version out of a
        // Linux dump) is skipped.
        var localDac = Path.Combine(Path.GetDirectoryName(clr.ModuleInfo.FileName) ?? string.Empty, "libmscordaccore.so");
        using var runtime = File.Exists(localDac) ? clr.CreateRuntime(localDac, ignoreMismatch: true) : clr.CreateRuntime();
        var text = new StringBuilder();
        text.AppendLine($"Managed threads of process {target.DataReader.ProcessId} (.NET {target.ClrVersions[0].Version})").AppendLine();
        foreach (var thread in runtime.Threads.Where(t => t.IsAlive))
        {
            text.AppendLine($"Thread {thread.ManagedThreadId} (OS thread {thread.OSThreadId}){(thread.IsFinalizer ? ", finalizer" : string.Empty)}");
            var frames = 0;
            foreach (var frame in thread.EnumerateStackTrace())
            {
                var method = frame.Method is { } m ? $"{m.Type?.Name}.{m.Name}" : $"[{frame.FrameName ?? frame.Kind.ToString()}]";
                text.AppendLine($"    at {method}");
                frames++;
            }

            if (frames == 0)
            {
                text.AppendLine("    (no managed frame)");
            }

            text.AppendLine();
        }

        // Async methods waiting for something hold no thread: their boxed state machines name them.
        text.AppendLine("Async operations waiting (state machines on the heap, by method):");
        var waiting = runtime.Heap.EnumerateObjects()
            .Select(o => o.Type?.Name)
            .Where(name => name is not null && name.Contains("AsyncStateMachineBox", StringComparison.Ordinal))
            .Select(name => StateMachineOf(name!))
            .GroupBy(name => name, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in waiting)
        {
            text.AppendLine($"    {group.Count(),5} × {group.Key}");
        }

        return text.ToString();
    }

    /// <summary>
    /// The async method in a state machine box's type name, which ClrMD gives as
    /// <c>...AsyncTaskMethodBuilder&lt;...&gt;+AsyncStateMachineBox&lt;Roster.Core.Node.RegistryNode+&lt;RunApplierAsync&gt;d__87&gt;</c>
    /// (older runtimes: <c>...AsyncStateMachineBox`1[[...],[Type+&lt;Method&gt;d__87, Assembly]]</c>).
    /// </summary>
    private static string StateMachineOf(string boxType)
    {
        const string Box = "AsyncStateMachineBox";
        var rest = boxType[(boxType.LastIndexOf(Box, StringComparison.Ordinal) + Box.Length)..];
        if (rest.StartsWith('<') && rest.EndsWith('>'))
        {
            return rest[1..^1];
        }

        var start = rest.LastIndexOf(",[", StringComparison.Ordinal);
        var inner = start < 0 ? rest : rest[(start + 2)..];
        var end = inner.IndexOf(',', StringComparison.Ordinal);
        return end < 0 ? inner.TrimEnd(']') : inner[..end];
    }
}
