using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using Roster.Core.Log;
using Roster.Core.Log.Stream;
using Roster.Core.Model;

namespace Roster.Cluster.Tests;

/// <summary>The change log on a real RabbitMQ stream: what every node reads, how far the stream reaches, the
/// registry id, and a message no node can read.</summary>
[Collection(SharedBrokers.Name)]
public sealed class RabbitStreamChangeLogTests(BrokersFixture brokers)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_reader_turns_the_stream_into_the_same_records_and_the_same_registry_id()
    {
        var bus = brokers.NewBus("same-records");
        await using var a = await OpenAsync(bus, "a");
        await using var b = await OpenAsync(bus, "b");
        Assert.Equal(a.RegistryId, b.RegistryId);
        Assert.Matches("^[0-9a-f]{32}$", a.RegistryId);

        // Two writers at once, several batches each, one of them larger than a message holds.
        await Task.WhenAll(
            AppendAsync(a, "a", batches: 20, size: 3),
            AppendAsync(b, "b", batches: 20, size: 3),
            a.AppendAsync(Changes("big", StreamChangeLog.MaxChangesPerMessage + 10), CancellationToken.None));

        const int Written = (2 * 20 * 3) + StreamChangeLog.MaxChangesPerMessage + 10;
        var readByA = await ReadUntilAsync(a, records => records.Count(r => r.Envelope.Change is RegisterChange) >= Written);
        var readByB = await ReadUntilAsync(b, records => records.Count >= readByA.Count);
        Assert.Equal(Describe(readByA), Describe(readByB));
        Assert.Equal(Written, readByA.Count(r => r.Envelope.Change is RegisterChange));
        Assert.True(readByA.Select(r => r.Position).SequenceEqual(readByA.Select(r => r.Position).Order()), "positions increase");
        Assert.Equal(readByA.Count, readByA.Select(r => r.Position).Distinct().Count());
    }

    [Fact]
    public async Task A_barrier_reaches_past_every_change_appended_before_it_from_any_node()
    {
        var bus = brokers.NewBus("barrier");
        await using var a = await OpenAsync(bus, "a");
        await using var b = await OpenAsync(bus, "b");
        using var reading = new CancellationTokenSource(Deadline);
        var records = new ConcurrentQueue<LogRecord>();
        var reader = Task.Run(async () =>
        {
            await foreach (var batch in a.ReadAsync(1, reading.Token))
            {
                foreach (var record in batch)
                {
                    records.Enqueue(record);
                }
            }
        });

        await AppendAsync(b, "b", batches: 5, size: 2);
        var end = await a.GetLastPositionAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => records.Any(r => r.Position >= end), "a reads its barrier", Deadline);
        var written = records.Where(r => r.Envelope.Change is RegisterChange).ToList();
        Assert.Equal(10, written.Count);
        Assert.All(written, r => Assert.True(r.Position < end));

        // Callers asking at once share barriers: far fewer messages than callers.
        var ends = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => a.GetLastPositionAsync(CancellationToken.None).AsTask()));
        Assert.All(ends, e => Assert.True(e > end));
        Assert.True(ends.Distinct().Count() < 25, $"{ends.Distinct().Count()} barriers for 50 callers");
        await reading.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader);
    }

    [Fact]
    public async Task A_message_in_a_format_the_node_does_not_know_stops_the_reader_loudly()
    {
        var bus = brokers.NewBus("unreadable");
        await using var a = await OpenAsync(bus, "a");
        await AppendAsync(a, "a", batches: 1, size: 1);

        // A message from a newer Roster (format version 2), and damaged bytes.
        await PublishRawAsync(bus, [2, 0, 0, 0]);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadUntilAsync(a, _ => false));
        Assert.Contains("format version 2", error.Message, StringComparison.Ordinal);

        var damaged = brokers.NewBus("damaged");
        await using var b = await OpenAsync(damaged, "b");
        await PublishRawAsync(damaged, [1, 200, 1]);
        await Assert.ThrowsAsync<InvalidDataException>(() => ReadUntilAsync(b, _ => false));
    }

    private static Task<RabbitStreamChangeLog> OpenAsync(BusOptions bus, string node) =>
        RabbitStreamChangeLog.OpenAsync(bus, node.PadLeft(32, '0'), NullLogger.Instance, TimeProvider.System, new CancellationTokenSource(Deadline).Token);

    private static async Task AppendAsync(RabbitStreamChangeLog log, string prefix, int batches, int size)
    {
        for (var i = 0; i < batches; i++)
        {
            await log.AppendAsync(Changes($"{prefix}{i}-", size), CancellationToken.None);
        }
    }

    private static ChangeEnvelope[] Changes(string prefix, int count) =>
        Enumerable.Range(0, count)
            .Select(i => new ChangeEnvelope("w", i + 1, new RegisterChange(
                new InstanceKey("default", "orders", $"{prefix}{i}"),
                new Registration("10.0.0.1", 8080, "http", "zone-a", "1.0", 100, InstanceMetadata.Empty, InstanceKind.Ephemeral, 30),
                0), AcceptedAt: 1_764_700_000_000 + i))
            .ToArray();

    /// <summary>Reads from the start until <paramref name="enough"/> holds for what was read (a reader error ends it too).</summary>
    private static async Task<List<LogRecord>> ReadUntilAsync(RabbitStreamChangeLog log, Func<List<LogRecord>, bool> enough)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        var records = new List<LogRecord>();
        await foreach (var batch in log.ReadAsync(1, deadline.Token))
        {
            records.AddRange(batch);
            if (enough(records))
            {
                break;
            }
        }

        return records;
    }

    private static List<string> Describe(List<LogRecord> records) =>
        records.Select(r => $"{r.Position} {r.Envelope.Change.GetType().Name} {r.Envelope.Change.Key.Id}").ToList();

    private static async Task PublishRawAsync(BusOptions bus, byte[] body)
    {
        var factory = new ConnectionFactory { Uri = bus.Brokers[0] };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        await channel.BasicPublishAsync(string.Empty, bus.StreamName, body);
    }
}
