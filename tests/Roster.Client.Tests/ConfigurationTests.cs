using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Roster.Client.Tests;

/// <summary>Settings read from configuration, and what a reload may and may not change.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task The_roster_section_configures_the_client_registration_and_discovery()
    {
        var configuration = Configuration(new()
        {
            ["Roster:Servers:0"] = "http://registry-1:8080",
            ["Roster:Servers:1"] = "http://registry-2:8080",
            ["Roster:CallTimeout"] = "00:00:07",
            ["Roster:Registration:Namespace"] = "prod",
            ["Roster:Registration:Service"] = "orders",
            ["Roster:Registration:TtlSeconds"] = "5",
            ["Roster:Registration:Agent:DrainPeriod"] = "00:00:02",
            ["Roster:Registration:Metadata:team"] = "checkout",
            ["Roster:Discovery:Namespace"] = "prod",
            ["Roster:Discovery:LoadBalancing:Policy"] = "ConsistentHash",
            ["Roster:Discovery:LoadBalancing:LocalZone"] = "eu-west-1a",
        });
        var services = new ServiceCollection();
        services.AddRoster(configuration.GetSection("Roster")).AddRegistration(o => o.Version = "1.2.3").AddDiscovery();
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<IOptions<RosterClientOptions>>().Value;
        Assert.Equal([new Uri("http://registry-1:8080"), new Uri("http://registry-2:8080")], client.Servers);
        Assert.Equal(TimeSpan.FromSeconds(7), client.CallTimeout);
        var registration = provider.GetRequiredService<IOptions<RosterRegistrationOptions>>().Value;
        Assert.Equal(("prod", "orders", 5, "1.2.3"), (registration.Namespace, registration.Service, registration.TtlSeconds, registration.Version));
        Assert.Equal(TimeSpan.FromSeconds(2), registration.Agent.DrainPeriod);
        Assert.Equal("checkout", registration.Metadata["team"]);
        var balancer = provider.GetRequiredService<RosterLoadBalancer>();
        Assert.Equal((LoadBalancingPolicy.ConsistentHash, "eu-west-1a"), (balancer.Options.Policy, balancer.Options.LocalZone));
        Assert.Equal("prod", provider.GetRequiredService<RosterDiscovery>().Namespace);
    }

    [Fact]
    public async Task A_reload_with_values_that_cannot_work_is_refused_and_the_last_good_settings_stay()
    {
        var configuration = Configuration(new()
        {
            ["Roster:Servers:0"] = "http://127.0.0.1:1",
            ["Roster:Discovery:Namespace"] = "prod",
            ["Roster:Discovery:MaxAttemptsPerRequest"] = "3",
        });
        var services = new ServiceCollection();
        services.AddRoster(configuration.GetSection("Roster")).AddDiscovery();
        await using var provider = services.BuildServiceProvider();
        var settings = provider.GetRequiredService<Discovery.DiscoverySettings>();
        var balancer = provider.GetRequiredService<RosterLoadBalancer>();

        configuration["Roster:Discovery:LoadBalancing:Policy"] = "RoundRobin";
        configuration["Roster:Discovery:MaxAttemptsPerRequest"] = "5";
        configuration.Reload();
        Assert.Equal((LoadBalancingPolicy.RoundRobin, 5), (balancer.Options.Policy, settings.Current.MaxAttemptsPerRequest));

        configuration["Roster:Discovery:LoadBalancing:Policy"] = "WeightedRandom";
        configuration["Roster:Discovery:LoadBalancing:MaxEjectedShare"] = "1.5";
        configuration.Reload();
        Assert.Equal((LoadBalancingPolicy.RoundRobin, 5), (balancer.Options.Policy, settings.Current.MaxAttemptsPerRequest));

        // Equal settings are not a change: the balancer is left alone.
        Assert.False(balancer.Reconfigure(balancer.Options));
    }

    [Fact]
    public async Task Static_sources_are_read_from_the_discovery_section()
    {
        var configuration = Configuration(new()
        {
            ["Roster:Servers:0"] = "http://127.0.0.1:1",
            ["Roster:Discovery:Namespace"] = "prod",
            ["Roster:Discovery:Sources:payments"] = "static://10.0.0.1:8080,payments-2.internal:8080,[fd00::1]:8443",
        });
        var services = new ServiceCollection();
        services.AddRoster(configuration.GetSection("Roster")).AddDiscovery();
        await using var provider = services.BuildServiceProvider();

        var discovery = provider.GetRequiredService<RosterDiscovery>();
        Assert.True(discovery.TryGetEndpoints("payments", out var payments));
        Assert.Equal(EndpointSource.Static, payments.Source);
        Assert.Equal(
            [("10.0.0.1:8080", "10.0.0.1", 8080), ("payments-2.internal:8080", "payments-2.internal", 8080), ("[fd00::1]:8443", "fd00::1", 8443)],
            payments.Endpoints.Select(e => (e.Id, e.Address, e.Port)));
        Assert.False(discovery.TryGetEndpoints("orders", out _)); // from the registry, when asked
    }

    [Fact]
    public async Task A_reload_moves_a_service_between_static_lists_and_the_registry_without_a_restart()
    {
        await using var registry = await RosterTestServer.StartAsync(true);
        using (var registered = await registry.RegisterAsync("prod", "payments", "p-1", new { address = "10.9.0.1", port = 8080, ttlSeconds = 60 }))
        {
            registered.EnsureSuccessStatusCode();
        }

        var configuration = Configuration(new()
        {
            ["Roster:Servers:0"] = registry.Address.ToString(),
            ["Roster:Discovery:Namespace"] = "prod",
            ["Roster:Discovery:Sources:payments"] = "static://10.0.0.1:8080",
        });
        var services = new ServiceCollection();
        services.AddRoster(configuration.GetSection("Roster")).AddDiscovery();
        await using var provider = services.BuildServiceProvider();
        var discovery = provider.GetRequiredService<RosterDiscovery>();
        string[] Addresses() => discovery.TryGetEndpoints("payments", out var e) ? [.. e.Endpoints.Select(i => $"{e.Source}:{i.Address}")] : [];
        Assert.Equal(["Static:10.0.0.1"], Addresses());

        configuration["Roster:Discovery:Sources:payments"] = "static://10.0.0.2:8080,10.0.0.3:8080";
        configuration.Reload();
        await Eventually.TrueAsync(() => Addresses().SequenceEqual(["Static:10.0.0.2", "Static:10.0.0.3"]), "the new static list is in force");

        // A reload with a bad entry is refused as a whole: "orders" in it is never taken (a static list, once taken, would
        // stay in the cache until the registry's replaced it).
        configuration["Roster:Discovery:Sources:payments"] = "static://10.0.0.4";
        configuration["Roster:Discovery:Sources:orders"] = "static://10.0.0.5:8080";
        configuration.Reload();
        configuration["Roster:Discovery:Sources:payments"] = "static://10.0.0.2:8080,10.0.0.3:8080";
        configuration["Roster:Discovery:Sources:orders"] = ""; // how a configuration says "no entry"
        configuration["Roster:Discovery:Sources:billing"] = "static://10.0.0.6:8080";
        configuration.Reload();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("billing", out _), "the next good reload is taken");
        Assert.False(discovery.TryGetEndpoints("orders", out _));
        Assert.Equal(["Static:10.0.0.2", "Static:10.0.0.3"], Addresses());

        // The entry removed: the registry's list replaces the static one.
        configuration["Roster:Discovery:Sources:payments"] = "";
        configuration.Reload();
        await Eventually.TrueAsync(() => Addresses().SequenceEqual(["Live:10.9.0.1"]), "the registry's list is in force");
    }

    [Theory]
    [InlineData("payments", "static://10.0.0.1", "is not host:port")]
    [InlineData("payments", "static://10.0.0.1:8080,10.0.0.1:8080", "listed twice")]
    [InlineData("payments", "static://fd00::1:8080", "brackets")]
    [InlineData("payments", "static://10.0.0.1:70000", "no port")]
    [InlineData("payments", "http://10.0.0.1:8080", "no source provider reads http:// targets; this discovery reads static://")]
    [InlineData("payments", "10.0.0.1:8080", "it must start with a scheme (static://)")]
    [InlineData("payments", "etcd://127.0.0.1:2379/payments.rpc", "need the Roster.Client.Etcd package and its AddEtcdSources()")]
    [InlineData("payments", "k8s://shop/payments:8080", "need the Roster.Client.Kubernetes package and its AddKubernetesSources()")]
    [InlineData("Payments", "static://10.0.0.1:8080", "not a service name")]
    public void A_source_that_cannot_work_stops_the_start_naming_its_entry(string service, string target, string message)
    {
        var options = new RosterDiscoveryOptions { Namespace = "prod" };
        options.Sources[service] = target;
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains("Sources", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("etcd://127.0.0.1:2379", "names no key")]
    [InlineData("etcd://127.0.0.1:2379/", "names no key")]
    [InlineData("etcd://127.0.0.1/user.rpc", "etcd member '127.0.0.1' is not host:port")]
    [InlineData("etcd://127.0.0.1:2379,127.0.0.1:2379/user.rpc", "listed twice")]
    [InlineData("etcd://127.0.0.1:2379/user rpc", "no spaces")]
    [InlineData("http://127.0.0.1:2379/user.rpc", "this discovery reads static://, etcd://")]
    public void An_etcd_target_that_cannot_work_stops_the_start_naming_what_is_wrong(string target, string message)
    {
        var options = new RosterDiscoveryOptions { Namespace = "prod" }.AddEtcdSources();
        options.Sources["user-rpc"] = target;
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains("Sources:user-rpc", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_etcd_target_names_its_members_in_order_and_the_key_go_zero_registers_under()
    {
        var options = new RosterDiscoveryOptions { Namespace = "prod" }.AddEtcdSources().AddEtcdSources();
        options.Sources["user-rpc"] = "etcd://10.0.0.1:2379, etcd-2:22379,[fd00::3]:2379/user.rpc";
        options.Validate();
        Assert.Single(options.SourceProviders);
        var target = Roster.Client.Etcd.EtcdTarget.Parse(options.Sources["user-rpc"], out _)!;
        Assert.Equal(["http://10.0.0.1:2379/", "http://etcd-2:22379/", "http://[fd00::3]:2379/"], target.Members.Select(m => m.ToString()));
        Assert.Equal("user.rpc/", target.Prefix);
    }

    [Theory]
    [InlineData("k8s://inventory:8080", "names no namespace")]
    [InlineData("k8s://Shop/inventory:8080", "'Shop' is not a Kubernetes namespace name")]
    [InlineData("k8s://shop/inventory_v2:8080", "'inventory_v2' is not a Kubernetes Service name")]
    [InlineData("k8s://shop/inventory:0", "port '0' is not from 1 to 65535")]
    [InlineData("k8s://shop/inventory:HTTP", "neither a number nor a port name")]
    public void A_kubernetes_target_that_cannot_work_stops_the_start_naming_what_is_wrong(string target, string message)
    {
        var options = new RosterDiscoveryOptions { Namespace = "prod" }.AddKubernetesSources();
        options.Sources["inventory"] = target;
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains("Sources:inventory", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("k8s://shop/inventory:8080", 8080, null)]
    [InlineData("k8s://shop/inventory:grpc-web", null, "grpc-web")]
    [InlineData("k8s://shop/inventory", null, null)]
    public void A_kubernetes_target_names_a_service_and_a_port_by_number_by_name_or_not_at_all(string target, int? number, string? name)
    {
        var parsed = Roster.Client.Kubernetes.KubernetesTarget.Parse(target, out var error);
        Assert.Null(error);
        Assert.Equal(("shop", "inventory", number, name), (parsed!.Namespace, parsed.Service, parsed.PortNumber, parsed.PortName));
        Assert.Equal("kubernetes.io/service-name=inventory", parsed.LabelSelector);
    }

    private static IConfigurationRoot Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
