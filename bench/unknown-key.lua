-- GET /users/{id} for a random existing user (see ids.lua) with a random well-formed key that no one
-- has, new for each request (keys.unknown in keys.lua): a 401 after the key's look-up, which the server
-- never caches for a key it did not find.
local user = dofile("bench/ids.lua")
local keys = dofile("bench/keys.lua")
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

init = function()
  math.randomseed(os.time() + tid * 7919)
end

request = function()
  local id = user()
  return wrk.format("GET", "/users/" .. id, {["Authorization"] = keys.unknown()})
end
