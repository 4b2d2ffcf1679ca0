// A YARP gateway in front of the "orders" service. Its cluster's one destination is http://orders
// (appsettings.json, "ReverseProxy" section); Microsoft.Extensions.ServiceDiscovery resolves it through
// Roster, so the gateway forwards to every instance that takes requests and follows registrations,
// drains and departures as Roster pushes them.
//   dotnet run --project samples/Orders.Gateway -- --urls http://127.0.0.1:5090
//   curl http://127.0.0.1:5090/orders/42
using Roster.Client;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddServiceDiscovery()
    .AddRosterServiceEndpointProvider(builder.Configuration.GetSection("Roster")); // servers and namespace from Roster
builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    .AddServiceDiscoveryDestinationResolver();

var app = builder.Build();
app.MapReverseProxy();
app.MapRosterStatus(); // GET /roster/status: what this gateway sees of Roster
app.Run();
