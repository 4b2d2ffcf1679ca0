using System.Diagnostics;
using System.Globalization;

namespace Roster.PeerBench.Workloads;

/// <summary>
/// W5's client that dies: a separate process holding instances, so SIGKILL ends its connections the way
/// a crashed provider's end. It prints <c>ready</c> once its instances are registered and kept alive.
/// </summary>
internal static class Holder
{
    public static ProcessStartInfo StartInfo(string peer, Uri address, int instances, int ttlSeconds)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "Roster.PeerBench.dll"), "hold", peer, address.ToString(),
            instances.ToString(CultureInfo.InvariantCulture), ttlSeconds.ToString(CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>The holder process's main: register, keep alive, say ready, wait to be killed.</summary>
    public static async Task<int> RunAsync(RecordingDriver driver, int instances, int ttlSeconds)
    {
        await using (driver)
        {
            await driver.HoldAsync(instances, ttlSeconds, CancellationToken.None).ConfigureAwait(false);
            Console.WriteLine("ready");
            await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
        }

        return 0;
    }
}
