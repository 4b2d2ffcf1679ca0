using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Validation;

namespace Roster.Bench;

/// <summary>
/// Bytes allocated by each step of the write path, in this process, after warm-up: a developer aid
/// for finding what to trim (`alloc` workload). Not a throughput figure.
/// </summary>
internal static class AllocationProbe
{
    public static async Task RunAsync(byte[] body)
    {
        Console.WriteLine("alloc: managed bytes allocated per registration, by step of the write path");
        var node = await RegistryNode.StartAsync(NodeStorage.InMemory(), new RegistryNodeOptions(), TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        await node.WhenReady;
        var limits = new RegistryLimits();
        const int rounds = 20_000;
        var results = new Dictionary<string, long>();

        for (var pass = 0; pass < 2; pass++)
        {
            long Measure(string step, Action<int> action)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                for (var i = 0; i < rounds; i++)
                {
                    action(i);
                }

                var bytes = (GC.GetTotalAllocatedBytes(precise: true) - before) / rounds;
                results[step] = bytes;
                return bytes;
            }

            Measure("parse JSON body (the server's RegisterRequest contract)", _ => JsonSerializer.Deserialize(body, Roster.Server.Api.ApiJsonContext.Default.RegisterRequest));
            var request = JsonSerializer.Deserialize(body, Roster.Server.Api.ApiJsonContext.Default.RegisterRequest)!;
            var input = new RegistrationInput(request.Address, request.Port, request.Scheme, request.Zone, request.Version, request.Weight, request.Metadata, request.TtlSeconds, request.Persistent);
            Measure("validate + canonical metadata", _ => input.Validate(limits, node.Options));
            var registration = input.Validate(limits, node.Options).Registration!;
            Measure("instance record (digest)", i => _ = new InstanceRecord("id", registration, OperatorState.None, i, i));
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var offset = pass * rounds * 10;
            await Task.WhenAll(Enumerable.Range(0, 64).Select(t => Task.Run(async () =>
            {
                for (var i = t; i < rounds; i += 64)
                {
                    await node.SubmitAsync(new RegisterChange(new InstanceKey("bench", $"svc{i % 50}", $"i{offset + i}"), registration, 0), CancellationToken.None);
                }
            })));
            results["submit + log + apply + lease (whole node)"] = (GC.GetTotalAllocatedBytes(precise: true) - before) / rounds;
        }

        foreach (var (step, bytes) in results)
        {
            Console.WriteLine($"  {step}: {bytes:N0} bytes");
        }

        await node.DisposeAsync();
    }
}
