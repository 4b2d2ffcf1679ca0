// A consumer of the "orders" service: http://orders/ is resolved through Roster on every request.
//   dotnet run --project samples/Orders.Consumer -- --urls http://127.0.0.1:5080
//   curl http://127.0.0.1:5080/orders/42
using Roster.Client;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRoster(roster => roster.Servers.Add(new Uri(builder.Configuration["Roster:Server"] ?? "http://127.0.0.1:8080")))
    .AddDiscovery(discovery =>
    {
        discovery.Namespace = "samples";
        discovery.CacheDirectory = Path.Combine(Path.GetTempPath(), "orders-consumer-cache"); // lets it start during a registry outage
    });
builder.Services.AddHttpClient("orders", client => client.BaseAddress = new Uri("http://orders")).AddRosterDiscovery();

var app = builder.Build();
app.MapGet("/orders/{id}", async (string id, IHttpClientFactory clients) =>
    await clients.CreateClient("orders").GetStringAsync(new Uri($"/orders/{Uri.EscapeDataString(id)}", UriKind.Relative)));
app.Run();
