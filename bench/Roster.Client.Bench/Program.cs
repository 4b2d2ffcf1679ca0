using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Roster.Client.Bench;

// Usage: dotnet bench/Roster.Client.Bench/bin/Release/net10.0/Roster.Client.Bench.dll [resolve|sources|handler|servicediscovery|propagation|etcd-propagation|all] [changes]
var workload = args.Length > 0 ? args[0] : "all";
Console.WriteLine($"Roster client benchmark, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");

// In process: the registry these benchmarks resolve against is started once per benchmark class, by its setup.
var config = ManualConfig.CreateMinimumViable()
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
if (workload is "resolve" or "all")
{
    BenchmarkRunner.Run<ResolveBenchmarks>(config);
}

if (workload is "sources" or "all")
{
    BenchmarkRunner.Run<SourceResolveBenchmarks>(config);
}

if (workload is "handler" or "all")
{
    BenchmarkRunner.Run<HandlerBenchmarks>(config);
}

if (workload is "servicediscovery" or "all")
{
    BenchmarkRunner.Run<ServiceDiscoveryBenchmarks>(config);
}

if (workload is "propagation" or "all")
{
    await Propagation.RunAsync(changes: args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000);
}

if (workload is "etcd-propagation" or "all")
{
    await Propagation.RunEtcdAsync(changes: args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000);
}
