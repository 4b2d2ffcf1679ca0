// A consumer of the "orders" service: http://orders/ is resolved through Roster on every request.
//   dotnet run --project samples/Orders.Consumer -- --urls http://127.0.0.1:5080
//   curl http://127.0.0.1:5080/orders/42
// Settings are in appsettings.json ("Roster" section); any can be overridden on the command line,
// e.g. --Roster:Servers:0=http://127.0.0.1:9090 --Roster:Discovery:LoadBalancing:Policy=RoundRobin
// "orders" can come from elsewhere than the registry by configuration alone, the code unchanged:
//   --Roster:Discovery:Sources:orders=static://127.0.0.1:5001,127.0.0.1:5002      (fixed addresses)
//   --Roster:Discovery:Sources:orders=etcd://127.0.0.1:2379/orders.rpc            (instances go-zero registers in etcd)
//   --Roster:Discovery:Sources:orders=k8s://shop/orders:8080                      (a Kubernetes Service's ready pods;
//                                                                                  in-cluster, or the kubeconfig's cluster)
using Roster.Client;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRoster(builder.Configuration.GetSection("Roster"))
    .AddDiscovery(discovery => // namespace and load balancing from Roster:Discovery
        discovery.CacheDirectory ??= Path.Combine(Path.GetTempPath(), "orders-consumer-cache")) // lets it start during a registry outage
    .AddEtcdSources() // etcd:// entries in Roster:Discovery:Sources (package Roster.Client.Etcd)
    .AddKubernetesSources(); // k8s:// entries (package Roster.Client.Kubernetes)
builder.Services.AddHttpClient("orders", client => client.BaseAddress = new Uri("http://orders")).AddRosterDiscovery();

var app = builder.Build();
app.MapGet("/orders/{id}", async (string id, IHttpClientFactory clients) =>
    await clients.CreateClient("orders").GetStringAsync(new Uri($"/orders/{Uri.EscapeDataString(id)}", UriKind.Relative)));
app.MapRosterStatus(); // GET /roster/status: each service's list, its source, origin and age, and each endpoint's balancer state
app.Run();
