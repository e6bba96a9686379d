-- A fixed mixed load over 2,000 users, and up to 2,000 more it creates and deletes (a bounded
-- set, so the data reaches a steady state): backend reads, merges with If-Match (a stale version
-- is answered 412, a normal outcome), lookups, frontend reads and writes, creates and deletes.
local n = 0
local auth = "Bearer sk_soak"
request = function()
  n = n + 1
  local r = math.random(100)
  local user = "user_" .. math.random(0, 1999)
  if r <= 35 then
    return wrk.format("GET", "/v1/users/" .. user, { ["Authorization"] = auth })
  elseif r <= 55 then
    return wrk.format("PATCH", "/v1/users/" .. user .. "/metadata",
      { ["Authorization"] = auth, ["Content-Type"] = "application/json",
        ["If-Match"] = '"' .. math.random(1, 40) .. '"' },
      '{"public_metadata":{"n":' .. (n % 50) .. '}}')
  elseif r <= 65 then
    return wrk.format("GET", "/v1/users?public_metadata.n=" .. (n % 50) .. "&limit=10",
      { ["Authorization"] = auth })
  elseif r <= 80 then
    return wrk.format("GET", "/v1/me", { ["x-user"] = user })
  elseif r <= 92 then
    return wrk.format("PATCH", "/v1/me/metadata",
      { ["x-user"] = user, ["Content-Type"] = "application/json" },
      '{"unsafe_metadata":{"seen":' .. n .. '}}')
  elseif r <= 96 then
    return wrk.format("POST", "/v1/users",
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      '{"id":"soak_' .. math.random(0, 1999) .. '","public_metadata":{"n":1}}')
  else
    return wrk.format("DELETE", "/v1/users/soak_" .. math.random(0, 1999), { ["Authorization"] = auth })
  end
end

-- 5xx answers, counted in each thread and summed in done().
fivexx = 0
local threads = {}
setup = function(thread) table.insert(threads, thread) end
response = function(status, headers, body)
  if status >= 500 then fivexx = fivexx + 1 end
end

done = function(summary, latency, requests)
  local five = 0
  for _, thread in ipairs(threads) do five = five + thread:get("fivexx") end
  io.write(string.format("SOAK rps=%.0f p99_us=%d non2xx=%d fivexx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(99),
    summary.errors.status, five,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
