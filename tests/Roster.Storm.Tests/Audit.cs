using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Storm.Tests;

/// <summary>What a node's audit (<c>GET /api/v1/audit</c>) says happened in a namespace.</summary>
internal sealed record AuditCounts(int Registers, int Expiries, int Deregisters, bool Complete)
{
    public static async Task<AuditCounts> ReadAsync(HttpClient node, string @namespace)
    {
        var (registers, expiries, deregisters, complete) = (0, 0, 0, true);
        for (long since = 0; ;)
        {
            var page = await node.GetFromJsonAsync<JsonElement>($"/api/v1/audit?namespace={@namespace}&since={since}&limit=10000");
            complete &= page.GetProperty("complete").GetBoolean();
            var entries = page.GetProperty("entries");
            if (entries.GetArrayLength() == 0)
            {
                return new AuditCounts(registers, expiries, deregisters, complete);
            }

            foreach (var entry in entries.EnumerateArray())
            {
                switch (entry.GetProperty("action").GetString())
                {
                    case "register": registers++; break;
                    case "expire": expiries++; break;
                    case "deregister": deregisters++; break;
                }

                since = entry.GetProperty("revision").GetInt64();
            }
        }
    }
}
