-- GET /users/{id} for a random id that no user has (beyond USERS, the largest existing id), with the key
-- of a random organisation (see keys.lua): a 404.
local keys = dofile("bench/keys.lua")
math.randomseed(os.time())
local users = tonumber(os.getenv("USERS") or "1000000")
request = function()
  return wrk.format("GET", "/users/" .. (users + math.random(1, 1000000000)), keys.headers(keys.random_org()))
end
