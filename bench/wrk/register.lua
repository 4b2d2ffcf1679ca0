-- wrk script: single-instance registrations, each a new instance, across 50 services, with the same
-- body (128 bytes of metadata) as the HttpClient workload in Roster.Bench.
-- Run: wrk -t2 -c64 -d10s --latency -s bench/wrk/register.lua http://127.0.0.1:PORT
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  body = '{"address":"10.20.30.40","port":8080,"zone":"eu-west-1a","version":"1.4.2",'
      .. '"metadata":{"team":"checkout-platform","owner":"payments-oncall@example.com",'
      .. '"build":"2026.11.21-4f3c2a1b9e7d6c5b","region":"eu-west-1a","protocol":"http1+h2c","tier":"golden"},'
      .. '"ttlSeconds":60}'
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  local path = "/api/v1/namespaces/bench/services/svc" .. (counter % 50) .. "/instances/w" .. id .. "-" .. counter
  return wrk.format("PUT", path, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx-or-errors %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
