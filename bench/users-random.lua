-- GET /users/{id} for a random existing user (see ids.lua), with the key of the user's organisation
-- (see keys.lua): a 200.
local user = dofile("bench/ids.lua")
local keys = dofile("bench/keys.lua")
math.randomseed(os.time())
request = function()
  local id, org = user()
  return wrk.format("GET", "/users/" .. id, keys.headers(org))
end
