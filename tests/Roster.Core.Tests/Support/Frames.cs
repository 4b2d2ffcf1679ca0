using System.Text;
using System.Text.Json;
using Roster.Core.Watch;

namespace Roster.Core.Tests.Support;

/// <summary>Reads the parts of an encoded SSE frame that tests check.</summary>
internal static class Frames
{
    public static (string Event, long Revision, JsonElement Data) Parse(WatchFrame frame)
    {
        var text = Encoding.UTF8.GetString(frame.Bytes.Span);
        string? eventName = null, data = null;
        long revision = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                revision = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return (eventName ?? "comment", revision, data is null ? default : JsonDocument.Parse(data).RootElement.Clone());
    }
}
