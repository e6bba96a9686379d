-- PATCH-merge spread at random over 10,000 users; each request sets a new value.
local n = 0
request = function()
  n = n + 1
  local id = math.random(0, 9999)
  return wrk.format("PATCH", "/v1/users/user_" .. id .. "/metadata",
    { ["Authorization"] = "Bearer sk_load", ["Content-Type"] = "application/json" },
    '{"public_metadata":{"n":' .. n .. '}}')
end
