// Drives the npm "eureka-js-client" (installed by eng/install-node-clients.sh) against a Roster node, as a Node.js
// service would use it, and prints what it sees as JSON lines for EurekaClientTests to check:
// registers orders-1 (a 3 s lease, a heartbeat every second), fetches the registry in full and then as deltas every
// 300 ms, and prints the instances its cache holds for the VIP "orders" whenever they change. Commands on its standard
// input: "pause" stops the heartbeats (a process that froze), "resume" sends one at once and starts them again,
// "requests" prints how many requests of each kind it made, "stop" stops the client (which cancels its registration).
// Usage: node eureka-scenario.js HOST PORT
const { Eureka } = require("eureka-js-client");
const readline = require("readline");

const [host, port] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const requests = {};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const client = new Eureka({
  logger: quiet,
  shouldUseDelta: true,
  requestMiddleware: (options, done) => {
    const kind = `${(options.method || "GET").toUpperCase()} ${options.uri === "" ? "apps" : options.uri}`;
    requests[kind] = (requests[kind] || 0) + 1;
    done(options);
  },
  instance: {
    app: "orders",
    instanceId: "orders-1",
    hostName: "orders-1.local",
    ipAddr: "10.3.0.1",
    port: { $: 8080, "@enabled": true },
    vipAddress: "orders",
    dataCenterInfo: { "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", name: "MyOwn" },
    leaseInfo: { durationInSecs: 3 },
    metadata: { runtime: "node" },
  },
  eureka: {
    host,
    port: Number(port),
    servicePath: "/eureka/apps/",
    heartbeatInterval: 1000,
    registryFetchInterval: 300,
    filterUpInstances: false,
    maxRetries: 0,
  },
});

client.on("registered", () => say({ step: "registered" }));
client.on("deregistered", () => say({ step: "deregistered" }));

let heartbeats = 0;
client.on("heartbeat", () => {
  heartbeats++;
  if (heartbeats === 1) {
    say({ step: "heartbeat" });
  }
});

let seen = "";
function reportCache() {
  const instances = (client.cache.vip.orders || [])
    .map((i) => ({ id: i.instanceId, status: i.status, host: i.hostName, port: i.port.$ }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const text = JSON.stringify(instances);
  if (text !== seen) {
    seen = text;
    say({ step: "cache", instances });
  }
}

client.start((err) => {
  if (err) {
    say({ step: "failed", message: String(err && err.message) });
    process.exit(1);
  }

  say({ step: "started" });
  reportCache();
  setInterval(reportCache, 50);
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  switch (line.trim()) {
    case "pause":
      clearInterval(client.heartbeat);
      say({ step: "paused" });
      break;
    case "resume":
      client.renew();
      client.startHeartbeats();
      say({ step: "resumed" });
      break;
    case "requests":
      say({ step: "requests", requests });
      break;
    case "stop":
      client.stop((err) => {
        say({ step: "stopped", error: err ? String(err.message) : null });
        process.exit(0);
      });
      break;
  }
});
