using System.Text.Json;
using Roster.Client.Api;

namespace Roster.Client.Discovery;

/// <summary>
/// Each service's last list as a JSON file in a directory (<c>{namespace}/{service}.json</c>), so a
/// process started during a registry outage can still call its providers. Files are replaced whole,
/// through a temporary file and a rename, so a reader never sees half a file; a damaged file is ignored.
/// </summary>
internal sealed class DiskCache
{
    private readonly string _directory;

    public DiskCache(string directory)
    {
        _directory = directory;
    }

    public CachedServiceFile? TryRead(string @namespace, string service)
    {
        var path = PathOf(@namespace, service);
        try
        {
            var file = JsonSerializer.Deserialize(File.ReadAllBytes(path), ClientJsonContext.Default.CachedServiceFile);
            return file is not null && file.Namespace == @namespace && file.Service.Name == service ? file : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    public void Write(CachedServiceFile file)
    {
        var path = PathOf(file.Namespace, file.Service.Name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(file, ClientJsonContext.Default.CachedServiceFile));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    // Names are the registry's ([a-z0-9.-]), so they are safe as file names.
    private string PathOf(string @namespace, string service) => Path.Combine(_directory, @namespace, service + ".json");
}
