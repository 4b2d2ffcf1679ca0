using System.Runtime;
using System.Text.Json;
using Roster.Server.Diagnostics;
using Roster.Server.Hosting;
using Roster.Server.Security;

namespace Roster.Server.Api;

/// <summary>
/// <c>GET /api/v1/debug</c> (an admin token when tokens are on): what to grab from a sick node before restarting it
/// (seed 002), read without stopping it: every loop's state and last progress, queue depths, watcher and lease counts,
/// thread pool and GC figures, the effective configuration without secrets, and the last log lines. <c>roster debug
/// dump</c> saves it in an archive, with the managed stacks of every thread when given the node's process id.
/// </summary>
internal static class DebugEndpoints
{
    public static void Map(RouteGroupBuilder api) => api.MapGet("/debug", Debug).DisableRateLimiting();

    private static IResult Debug(
        HttpContext context, RegistryNodeHost host, TokenAuthorizer auth, IConfiguration configuration, RecentLogLines log, TimeProvider time, AdmissionControl admission)
    {
        if (auth.AdmitAdmin(context) is { } refused)
        {
            return refused;
        }

        var node = host.Node;
        return new JsonResult(StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("takenAt"u8, time.GetUtcNow());
            w.WriteString("nodeId"u8, node.NodeId);
            w.WriteNumber("revision"u8, node.State.Revision);
            w.WriteBoolean("ready"u8, node.IsReady);
            if (node.Fault is { } fault)
            {
                w.WriteString("fault"u8, fault);
            }

            w.WriteNumber("uptimeSeconds"u8, (long)host.Uptime.TotalSeconds);
            w.WriteStartArray("loops"u8);
            foreach (var loop in node.Loops)
            {
                w.WriteStartObject();
                w.WriteString("name"u8, loop.Name);
                w.WriteString("state"u8, loop.State switch
                {
                    Core.Node.LoopState.Running => "running",
                    Core.Node.LoopState.Stopped => "stopped",
                    Core.Node.LoopState.Faulted => "faulted",
                    _ => "not-started",
                });
                if (loop.LastProgress is { } progress)
                {
                    w.WriteString("lastProgress"u8, progress);
                }

                if (loop.Error is { } error)
                {
                    w.WriteString("error"u8, error);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("pendingWrites"u8, node.PendingWrites);
            w.WriteNumber("requestsInFlight"u8, admission.InFlight);
            w.WriteNumber("requestsShed"u8, admission.Shed);
            w.WriteNumber("instances"u8, node.State.InstanceCount);
            w.WriteNumber("leases"u8, node.Leases.Count);
            w.WriteNumber("watchers"u8, node.Watches.SubscriberCount);
            w.WriteNumber("slowWatchersDropped"u8, node.Watches.SlowConsumersDropped);
            WriteRuntime(w);
            w.WriteStartObject("configuration"u8);
            foreach (var (key, value) in EffectiveConfiguration(configuration))
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            w.WriteStartArray("log"u8);
            foreach (var line in log.Snapshot())
            {
                w.WriteStringValue(line);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, node.State.Revision);
    }

    private static void WriteRuntime(Utf8JsonWriter w)
    {
        ThreadPool.GetAvailableThreads(out var availableWorkers, out var availableIo);
        ThreadPool.GetMaxThreads(out var maxWorkers, out var maxIo);
        w.WriteStartObject("threadPool"u8);
        w.WriteNumber("threads"u8, ThreadPool.ThreadCount);
        w.WriteNumber("pendingWorkItems"u8, ThreadPool.PendingWorkItemCount);
        w.WriteNumber("completedWorkItems"u8, ThreadPool.CompletedWorkItemCount);
        w.WriteNumber("busyWorkers"u8, maxWorkers - availableWorkers);
        w.WriteNumber("busyIo"u8, maxIo - availableIo);
        w.WriteEndObject();

        var gc = GC.GetGCMemoryInfo();
        w.WriteStartObject("gc"u8);
        w.WriteNumber("heapBytes"u8, gc.HeapSizeBytes);
        w.WriteNumber("committedBytes"u8, gc.TotalCommittedBytes);
        w.WriteNumber("allocatedBytes"u8, GC.GetTotalAllocatedBytes());
        w.WriteNumber("gen0Collections"u8, GC.CollectionCount(0));
        w.WriteNumber("gen1Collections"u8, GC.CollectionCount(1));
        w.WriteNumber("gen2Collections"u8, GC.CollectionCount(2));
        w.WriteNumber("pauseTimePercentage"u8, gc.PauseTimePercentage);
        w.WriteNumber("pausedMilliseconds"u8, (long)GC.GetTotalPauseDuration().TotalMilliseconds);
        // The pauses of the last collection of each kind: a long one is what stalls every request at once.
        foreach (var (name, kind) in (ReadOnlySpan<(string, GCKind)>)[("lastEphemeralPausesMs", GCKind.Ephemeral), ("lastFullBlockingPausesMs", GCKind.FullBlocking), ("lastBackgroundPausesMs", GCKind.Background)])
        {
            w.WriteStartArray(name);
            foreach (var pause in GC.GetGCMemoryInfo(kind).PauseDurations)
            {
                if (pause > TimeSpan.Zero)
                {
                    w.WriteNumberValue(Math.Round(pause.TotalMilliseconds, 1));
                }
            }

            w.WriteEndArray();
        }

        w.WriteBoolean("serverGC"u8, GCSettings.IsServerGC);
        w.WriteEndObject();
        w.WriteNumber("workingSetBytes"u8, Environment.WorkingSet);
    }

    /// <summary>
    /// Roster's settings and the addresses the node listens on, as the node sees them after every source is applied;
    /// tokens, passwords and secrets shown as <c>(redacted)</c>, and the password in a URI (a broker's) as <c>***</c>.
    /// </summary>
    internal static IEnumerable<KeyValuePair<string, string>> EffectiveConfiguration(IConfiguration configuration) =>
        configuration.GetSection("Roster").AsEnumerable()
            .Concat([new KeyValuePair<string, string?>("urls", configuration["urls"])])
            .Where(pair => pair.Value is not null)
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new KeyValuePair<string, string>(pair.Key, Redacted(pair.Key, pair.Value!)));

    private static string Redacted(string key, string value)
    {
        var last = key[(key.LastIndexOf(':') + 1)..];
        if (last.Equals("Token", StringComparison.OrdinalIgnoreCase) || last.Contains("Password", StringComparison.OrdinalIgnoreCase)
            || last.Contains("Secret", StringComparison.OrdinalIgnoreCase))
        {
            return "(redacted)";
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0
            ? value.Replace(uri.UserInfo, uri.UserInfo.Split(':')[0] + ":***", StringComparison.Ordinal)
            : value;
    }
}
