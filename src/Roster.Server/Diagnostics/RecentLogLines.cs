namespace Roster.Server.Diagnostics;

/// <summary>
/// The node's last log lines (Information and above, after the configured filters), kept in memory for the debug
/// dump: when a node misbehaves, what it said just before is in the dump without access to its log files. Each line is
/// formatted at once on the thread that logs it (nothing it refers to is kept), then stored in a ring under a lock held
/// only for that store.
/// </summary>
internal sealed class RecentLogLines(TimeProvider time) : ILoggerProvider
{
    public const int Capacity = 500;

    private readonly Lock _lock = new();
    private readonly string[] _ring = new string[Capacity];
    private long _written;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The kept lines, oldest first.</summary>
    public string[] Snapshot()
    {
        lock (_lock)
        {
            var count = (int)Math.Min(_written, Capacity);
            var lines = new string[count];
            for (var i = 0; i < count; i++)
            {
                lines[i] = _ring[(int)((_written - count + i) % Capacity)];
            }

            return lines;
        }
    }

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lock (_lock)
        {
            _ring[(int)(_written % Capacity)] = line;
            _written++;
        }
    }

    private sealed class Logger(RecentLogLines lines, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var line = $"{lines.Now():O} {logLevel} {category}: {formatter(state, exception)}"
                + (exception is null ? string.Empty : $" ({exception.GetType().Name}: {exception.Message})");
            lines.Add(line);
        }
    }

    private DateTimeOffset Now() => time.GetUtcNow();
}
