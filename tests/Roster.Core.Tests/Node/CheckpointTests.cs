using Microsoft.Extensions.Logging.Abstractions;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Node;

/// <summary>Checkpoints: what a restart loads, and what it falls back to when the newest is damaged.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "roster-ckpt-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<RegistryNode> StartAsync()
    {
        var node = await RegistryNode.StartAsync(
            await NodeStorage.OpenDirectoryAsync(_directory, CancellationToken.None),
            new RegistryNodeOptions { CheckpointInterval = 50, ExpiryScanInterval = TimeSpan.FromDays(1), KeepAliveInterval = TimeSpan.FromDays(1) },
            _time,
            NullLogger.Instance,
            CancellationToken.None);
        await node.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
        return node;
    }

    private static Task<Roster.Core.StateMachine.ApplyOutcome> RegisterAsync(RegistryNode node, int i) =>
        node.SubmitAsync(new RegisterChange(new InstanceKey("prod", "orders", $"i{i % 40}"), Registrations.Persistent(port: 1 + i), 0), CancellationToken.None);

    [Fact]
    public async Task DamagedNewestCheckpoint_FallsBackToThePreviousOneAndTheLog()
    {
        string expected;
        long revision;
        await using (var node = await StartAsync())
        {
            for (var i = 0; i < 300; i++)
            {
                await RegisterAsync(node, i);
            }

            await Eventually.TrueAsync(() => Directory.GetFiles(Path.Combine(_directory, "checkpoints"), "*.ckpt").Length == 2, "two checkpoints are kept");
            expected = Describe(node.State);
            revision = node.State.Revision;
        }

        var newest = Directory.GetFiles(Path.Combine(_directory, "checkpoints"), "*.ckpt").Order(StringComparer.Ordinal).Last();
        var bytes = await File.ReadAllBytesAsync(newest);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(newest, bytes);

        await using var restarted = await StartAsync();
        Assert.Equal(revision, restarted.State.Revision);
        Assert.Equal(expected, Describe(restarted.State));
    }

    [Fact]
    public async Task GracefulRestart_KeepsTheWatchHistory_SoAWatcherResumesWithoutReset()
    {
        long resumeFrom;
        await using (var node = await StartAsync())
        {
            for (var i = 0; i < 30; i++)
            {
                await RegisterAsync(node, i);
            }

            resumeFrom = node.State.Revision - 10;
        }

        await using var restarted = await StartAsync();
        using var subscription = restarted.Watches.Subscribe("prod", ["orders"], resumeFrom);
        Assert.False(subscription.StartsWithReset);
        var frames = subscription.TakeStartFrames().ToList();
        Assert.Equal(Enumerable.Range(1, 10).Select(i => resumeFrom + i), frames.Select(f => f.Revision));
    }

    private static string Describe(RegistryState state)
    {
        var service = state.FindService("prod", "orders")!;
        return $"{service.Sequence} {service.Digest} " + string.Join(',', service.Instances.Values.Select(i => $"{i.Id}@{i.Incarnation}"));
    }
}
