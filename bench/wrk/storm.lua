-- wrk script for the storm benchmark (Roster.Bench storm): registrations of new instances, as register.lua, and
-- every answer counted by status, so goodput (registrations acknowledged) is told apart from the node's 503s.
-- wrk does not honour Retry-After: a client turned away asks again at once, the worst a storm can do.
-- Run: wrk -t1 -c2048 -d10s -s bench/wrk/storm.lua http://127.0.0.1:PORT
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  accepted = 0
  shed = 0
  other = 0
  prefix = args[1] or "s"
  body = '{"address":"10.20.30.40","port":8080,"zone":"eu-west-1a","version":"1.4.2",'
      .. '"metadata":{"team":"checkout-platform","owner":"payments-oncall@example.com",'
      .. '"build":"2026.11.21-4f3c2a1b9e7d6c5b","region":"eu-west-1a","protocol":"http1+h2c","tier":"golden"},'
      .. '"ttlSeconds":60}'
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  local path = "/api/v1/namespaces/bench/services/svc" .. (counter % 50) .. "/instances/" .. prefix .. id .. "-" .. counter
  return wrk.format("PUT", path, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    accepted = accepted + 1
  elseif status == 503 then
    shed = shed + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, s, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    s = s + thread:get("shed")
    o = o + thread:get("other")
  end
  io.write(string.format("accepted %d\nshed %d\nother %d\nerrors %d\n", a, s, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
