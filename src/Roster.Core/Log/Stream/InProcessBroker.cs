namespace Roster.Core.Log.Stream;

/// <summary>
/// One append-only stream of messages, shared by several nodes in one process: the model of a RabbitMQ
/// stream queue that the cluster replicates through, with the same guarantees and the same gaps.
/// <list type="bullet">
/// <item>Messages get consecutive offsets from 0, the same for every reader.</item>
/// <item>An append learns no offset (a publisher confirm carries none): positions are known only to readers.</item>
/// <item>There is no deduplication: a message published again after a lost confirm is stored twice
/// (<see cref="StreamFaults"/> makes that happen on purpose).</item>
/// </list>
/// Each node talks to it through its own <see cref="StreamChangeLog"/>.
/// </summary>
public sealed class InProcessBroker
{
    // Guards the message list and the reader set; held only for list and field updates and non-blocking
    // channel writes, never across an await or a callback.
    private readonly Lock _lock = new();
    private readonly List<StreamMessage> _messages = [];
    private readonly List<Reader> _readers = [];

    // Reader names held back (Hold), with the offset from which their messages wait.
    private readonly Dictionary<string, int> _holds = new(StringComparer.Ordinal);

    public InProcessBroker(StreamFaults? faults = null) => Faults = faults ?? StreamFaults.None;

    /// <summary>The faults this stream injects.</summary>
    public StreamFaults Faults { get; }

    /// <summary>Messages stored so far.</summary>
    public long Length
    {
        get
        {
            lock (_lock)
            {
                return _messages.Count;
            }
        }
    }

    // Copies waiting to be stored again, each after so many more messages (a retried publish lands later).
    private readonly List<(StreamMessage Message, int After)> _pendingCopies = [];

    /// <summary>
    /// Stores <paramref name="message"/> at the next offset and hands it to every reader; with
    /// <paramref name="copyAfter"/>, stores it a second time after that many further messages.
    /// </summary>
    internal void Store(StreamMessage message, int? copyAfter = null)
    {
        lock (_lock)
        {
            StoreNeedsLock(message);
            for (var i = _pendingCopies.Count - 1; i >= 0; i--)
            {
                var (copy, after) = _pendingCopies[i];
                if (after <= 0)
                {
                    _pendingCopies.RemoveAt(i);
                    StoreNeedsLock(copy);
                }
                else
                {
                    _pendingCopies[i] = (copy, after - 1);
                }
            }

            if (copyAfter is { } delay)
            {
                if (delay == 0)
                {
                    StoreNeedsLock(message);
                }
                else
                {
                    _pendingCopies.Add((message, delay - 1));
                }
            }
        }
    }

    private void StoreNeedsLock(StreamMessage message)
    {
        var stored = message with { Offset = _messages.Count };
        _messages.Add(stored);
        foreach (var reader in _readers)
        {
            if (reader.Held is { } held)
            {
                held.Add(stored);
            }
            else
            {
                reader.Live.TryWrite(stored);
            }
        }
    }

    /// <summary>
    /// Holds back new messages from <paramref name="readerName"/>'s readers (a node that has fallen behind,
    /// or is cut off from the broker), until <see cref="Release"/>. Its appends still go through.
    /// </summary>
    public void Hold(string readerName)
    {
        lock (_lock)
        {
            // Remembered by name, so a reader that subscribes later is held back from the same point.
            _holds.TryAdd(readerName, _messages.Count);
            foreach (var reader in _readers.Where(r => r.Name == readerName))
            {
                reader.Held ??= [];
            }
        }
    }

    /// <summary>Delivers what was held back from <paramref name="readerName"/>, in order, and stops holding.</summary>
    public void Release(string readerName)
    {
        lock (_lock)
        {
            _holds.Remove(readerName);
            foreach (var reader in _readers.Where(r => r.Name == readerName && r.Held is not null))
            {
                foreach (var message in reader.Held!)
                {
                    reader.Live.TryWrite(message);
                }

                reader.Held = null;
            }
        }
    }

    /// <summary>
    /// Joins as a reader: returns the messages from <paramref name="fromOffset"/> stored so far, and from then
    /// on every new message goes to <paramref name="live"/>. Both happen under one lock, so each message is
    /// in exactly one of the two.
    /// </summary>
    internal List<StreamMessage> Subscribe(long fromOffset, System.Threading.Channels.ChannelWriter<StreamMessage> live, string readerName)
    {
        lock (_lock)
        {
            var reader = new Reader(readerName, live);
            _readers.Add(reader);
            var from = (int)Math.Clamp(fromOffset, 0, _messages.Count);
            var end = _messages.Count;
            if (_holds.TryGetValue(readerName, out var heldFrom))
            {
                end = Math.Max(from, heldFrom);
                reader.Held = _messages.GetRange(end, _messages.Count - end);
            }

            return _messages.GetRange(from, end - from);
        }
    }

    internal void Unsubscribe(System.Threading.Channels.ChannelWriter<StreamMessage> live)
    {
        lock (_lock)
        {
            _readers.RemoveAll(r => r.Live == live);
        }
    }

    /// <summary>A reader, and what is held back from it. Changed under the broker's lock only.</summary>
    private sealed class Reader(string name, System.Threading.Channels.ChannelWriter<StreamMessage> live)
    {
        public string Name { get; } = name;

        public System.Threading.Channels.ChannelWriter<StreamMessage> Live { get; } = live;

        public List<StreamMessage>? Held { get; set; }
    }

    /// <summary>The last message, or null when the stream is empty.</summary>
    internal StreamMessage? Last()
    {
        lock (_lock)
        {
            return _messages.Count == 0 ? null : _messages[^1];
        }
    }
}

/// <summary>
/// Faults an <see cref="InProcessBroker"/> injects into appends, each with its own probability, from a
/// seeded generator so a failing run can be replayed.
/// </summary>
/// <param name="Duplicate">The message is stored twice, the copy after up to a few other messages (a publish
/// retried after its confirm was lost).</param>
/// <param name="LoseConfirm">The message is stored but the append fails as if the confirm never came.</param>
/// <param name="LoseMessage">The message is not stored and the append fails (a publish that never reached the
/// stream).</param>
/// <param name="Seed">Seed of the generator.</param>
public sealed record StreamFaults(double Duplicate, double LoseConfirm, double LoseMessage, int Seed)
{
    private readonly Random _random = new(Seed);
    private readonly Lock _lock = new();

    public static StreamFaults None { get; } = new(0, 0, 0, 0);

    internal int Next(int maxExclusive)
    {
        lock (_lock)
        {
            return _random.Next(maxExclusive);
        }
    }

    internal bool Roll(double probability)
    {
        if (probability <= 0)
        {
            return false;
        }

        lock (_lock)
        {
            return _random.NextDouble() < probability;
        }
    }
}
