using Roster.Core.Log.Embedded;

namespace Roster.Core.Node;

/// <summary>
/// The data directory is damaged where the node needs it: starting would serve less than was acknowledged
/// and reuse revisions. The message names each file, the revisions affected and the way out.
/// </summary>
public sealed class DataDirectoryDamagedException : IOException
{
    public DataDirectoryDamagedException(string dataDirectory, IReadOnlyList<StorageDamage> damage, long keptUpTo, long continueAfter)
        : base(Describe(dataDirectory, damage, keptUpTo, continueAfter))
    {
        DataDirectory = dataDirectory;
        Damage = damage;
    }

    public string DataDirectory { get; }

    public IReadOnlyList<StorageDamage> Damage { get; }

    private static string Describe(string dataDirectory, IReadOnlyList<StorageDamage> damage, long keptUpTo, long continueAfter) =>
        $"""
        The data directory '{Path.GetFullPath(dataDirectory)}' is damaged, and starting would lose acknowledged writes:
        {string.Join(Environment.NewLine, damage.Select(d => "  - " + d))}
        The node did not start. Either restore the data directory from a backup, or start once with
        --accept-data-loss: the node then keeps the registry as of revision {keptUpTo}, sets every log and
        checkpoint file aside under 'damaged/' in the data directory, and continues at revision {continueAfter + 1}
        under a new registry id, so clients resync and providers register again. It logs what it dropped.
        """;
}
