-- PATCH-merge into one hot user; each request sets a new value.
local n = 0
request = function()
  n = n + 1
  return wrk.format("PATCH", "/v1/users/user_0/metadata",
    { ["Authorization"] = "Bearer sk_load", ["Content-Type"] = "application/json" },
    '{"public_metadata":{"n":' .. n .. '}}')
end
