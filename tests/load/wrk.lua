-- wrk script for tests/load/run.mjs: one route per run. Headers come from the environment
-- (LOAD_HEADERS, "Name: value" lines); LOAD_METHOD/LOAD_BODY make a POST. Each request gets
-- its own CF-Connecting-IP from 10.0.0.0/8 when LOAD_SPREAD_IPS=1, so per-IP rate limits see
-- many clients (as on the edge), or one fixed IP when the test is about the limit itself.
-- At the end it prints one JSON line: latency percentiles (ms) and counts per status.

local threads = {}
local spread = os.getenv("LOAD_SPREAD_IPS") == "1"
local fixed_ip = os.getenv("LOAD_IP") or "203.0.113.200"

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  n = 0
  wrk.method = os.getenv("LOAD_METHOD") or "GET"
  wrk.body = os.getenv("LOAD_BODY")
  local raw = os.getenv("LOAD_HEADERS") or ""
  for line in string.gmatch(raw, "[^\n]+") do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

function request()
  n = n + 1
  if spread then
    wrk.headers["CF-Connecting-IP"] = string.format("10.%d.%d.%d", id % 250, math.floor(n / 250) % 250, n % 250)
  else
    wrk.headers["CF-Connecting-IP"] = fixed_ip
  end
  return wrk.format()
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local by_status = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for status, k in pairs(c) do
      by_status[tostring(status)] = (by_status[tostring(status)] or 0) + k
    end
  end
  local parts = {}
  for status, k in pairs(by_status) do
    table.insert(parts, string.format('"%s":%d', status, k))
  end
  io.write(string.format(
    'LOAD_RESULT {"requests":%d,"duration_us":%d,"errors":%d,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"statuses":{%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(parts, ",")))
end
