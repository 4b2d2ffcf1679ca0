using System.Collections.Concurrent;

namespace Roster.Core.Validation;

/// <summary>
/// Shares one copy of strings that repeat across instances (scheme, zone, version): every instance
/// otherwise keeps its own copy for as long as it is registered. Bounded, so a client sending endless
/// distinct values cannot grow it: past the bound, values are kept as they came.
/// </summary>
public sealed class StringPool(int capacity = 4096)
{
    private readonly ConcurrentDictionary<string, string> _pool = new(StringComparer.Ordinal);

    public static StringPool Shared { get; } = new();

    public string Intern(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_pool.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        return _pool.Count < capacity ? _pool.GetOrAdd(value, value) : value;
    }
}
