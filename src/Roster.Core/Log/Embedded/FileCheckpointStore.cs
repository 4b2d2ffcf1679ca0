using System.Buffers;
using System.Buffers.Binary;
using Roster.Core.Node;
using Roster.Core.Serialization;

namespace Roster.Core.Log.Embedded;

/// <summary>
/// Checkpoints as files <c>{revision}.ckpt</c>: <c>[8-byte magic][payload][u32 CRC-32C of payload]</c>.
/// Written to a temporary file, fsynced, then renamed, so a crash leaves either the old or the new one.
/// The newest two are kept.
/// </summary>
public sealed class FileCheckpointStore(string directory) : ICheckpointStore
{
    private const string Extension = ".ckpt";
    private static ReadOnlySpan<byte> Magic => "RSTRCKP1"u8;

    public async Task<Checkpoint?> LoadLatestAsync(CancellationToken cancellationToken)
    {
        foreach (var (_, path) in List().OrderByDescending(c => c.Revision))
        {
            var checkpoint = TryDecode(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
            if (checkpoint is not null)
            {
                return checkpoint;
            }

            // Damaged: fall back to the previous checkpoint; the log still holds what follows it.
        }

        return null;
    }

    private static Checkpoint? TryDecode(byte[] bytes)
    {
        if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return null;
        }

        var payload = bytes.AsSpan(Magic.Length, bytes.Length - Magic.Length - 4);
        return Crc32C.Compute(payload) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4))
            ? CheckpointCodec.Read(payload)
            : null;
    }

    public async Task<long> SaveAsync(Checkpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Directory.CreateDirectory(directory);
        var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
        buffer.Write(Magic);
        CheckpointCodec.Write(buffer, checkpoint);
        var crc = Crc32C.Compute(buffer.WrittenSpan[Magic.Length..]);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.GetSpan(4), crc);
        buffer.Advance(4);

        var final = Path.Combine(directory, $"{checkpoint.State.Revision:D20}{Extension}");
        var temporary = final + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
        {
            await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, final, overwrite: true);

        var kept = List().OrderByDescending(c => c.Revision).ToList();
        foreach (var (_, path) in kept.Skip(2))
        {
            File.Delete(path);
        }

        return kept.Take(2).Min(c => c.Revision);
    }

    private IEnumerable<(long Revision, string Path)> List() =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*" + Extension)
                .Select(path => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(path), out var revision), Revision: revision, Path: path))
                .Where(c => c.Ok)
                .Select(c => (c.Revision, c.Path))
            : [];
}
