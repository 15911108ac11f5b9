-- GET /users/{id} for a random existing user (see ids.lua).
local user_id = dofile("bench/ids.lua")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/users/" .. user_id())
end
