-- wrk script for bench/punch_rush.py: every request punches in as the next person (one token a
-- line in the file given after --), so each request is a first punch of the day. Prints one
-- machine-readable line with status counts and exact latency percentiles (microseconds).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  next_token = 0
  created, conflict, other = 0, 0, 0
end

function request()
  next_token = next_token + 1
  local token = tokens[((next_token - 1) % #tokens) + 1]
  return wrk.format("POST", nil, {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, "{}")
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    conflict = conflict + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, k, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    k = k + thread:get("conflict")
    o = o + thread:get("other")
  end
  io.write(string.format(
    'RUSH {"requests": %d, "duration_us": %d, "created": %d, "conflict": %d, "other": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, c, k, o,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
