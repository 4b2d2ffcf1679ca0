using System.Buffers;
using System.Buffers.Binary;
using Roster.Core.Node;
using Roster.Core.Serialization;

namespace Roster.Core.Log.Embedded;

/// <summary>
/// Checkpoints as files <c>{revision}.ckpt</c>: <c>[8-byte magic][payload][u32 CRC-32C of payload]</c>.
/// Written to a temporary file, fsynced, then renamed, so a crash leaves either the old or the new one,
/// and a failed write (a full disk) leaves no partial file. The newest two are kept.
/// </summary>
public sealed class FileCheckpointStore(string directory) : ICheckpointStore
{
    internal const string Extension = ".ckpt";
    internal const string TemporaryExtension = ".tmp";
    private static ReadOnlySpan<byte> Magic => "RSTRCKP1"u8;

    public string Directory => directory;

    /// <summary>Reads the checkpoint at <paramref name="path"/>; null when it is damaged in any way, including
    /// holding a different revision than its name says.</summary>
    internal static async Task<Checkpoint?> TryLoadAsync(string path, long revision, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return null;
        }

        var payload = bytes.AsSpan(Magic.Length, bytes.Length - Magic.Length - 4);
        if (Crc32C.Compute(payload) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
        {
            return null;
        }

        try
        {
            var checkpoint = CheckpointCodec.Read(payload);
            return checkpoint.State.Revision == revision ? checkpoint : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            // A checksum that matches damaged content is unlikely, but a checkpoint that cannot be decoded is
            // damaged all the same.
            return null;
        }
    }

    public async Task<long> SaveAsync(Checkpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        System.IO.Directory.CreateDirectory(directory);
        var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
        buffer.Write(Magic);
        CheckpointCodec.Write(buffer, checkpoint);
        var crc = Crc32C.Compute(buffer.WrittenSpan[Magic.Length..]);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.GetSpan(4), crc);
        buffer.Advance(4);

        var final = Path.Combine(directory, FileName(checkpoint.State.Revision));
        var temporary = final + TemporaryExtension;
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, final, overwrite: true);
        }
        catch
        {
            // A full disk must not leave a partial file that keeps the disk full after a restart.
            File.Delete(temporary);
            throw;
        }

        var kept = List();
        foreach (var (_, path) in kept.Skip(2))
        {
            File.Delete(path);
        }

        // With one checkpoint only, the log keeps everything: a damaged checkpoint then falls back to a
        // full replay instead of to nothing.
        return kept.Count >= 2 ? kept[1].Revision : 0;
    }

    /// <summary>Checkpoint files, newest first.</summary>
    internal IReadOnlyList<(long Revision, string Path)> List() =>
        System.IO.Directory.Exists(directory)
            ? System.IO.Directory.EnumerateFiles(directory, "*" + Extension)
                .Select(path => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(path), out var revision), Revision: revision, Path: path))
                .Where(c => c.Ok)
                .Select(c => (c.Revision, c.Path))
                .OrderByDescending(c => c.Revision)
                .ToList()
            : [];

    internal static string FileName(long revision) => $"{revision:D20}{Extension}";
}
