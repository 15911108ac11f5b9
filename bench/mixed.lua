-- The mixed profile: 80% GET /users/{id} (random among USERS), 10% GET /orgs/{id}/stats (random
-- among 1,000), 5% POST /users (an email unique to this run, thread and request), 5% POST
-- /transactions (a random user, now). Every answer but 2xx counts as an error in wrk's Non-2xx.
-- Users are random existing ones (see ids.lua).
local user_id = dofile("bench/ids.lua")
-- Unique per wrk invocation (several run in one bench), per thread (tid) and per request (n).
local run = (os.getenv("RUN_ID") or "") .. os.time()
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
init = function()
  math.randomseed(os.time() + tid * 7919)
end

request = function()
  n = n + 1
  local r = math.random(1, 100)
  if r <= 80 then
    return wrk.format("GET", "/users/" .. user_id())
  elseif r <= 90 then
    return wrk.format("GET", "/orgs/" .. math.random(1, 1000) .. "/stats")
  elseif r <= 95 then
    local body = string.format('{"email":"mix-%s-%d-%d@bench.test","role":"member","orgId":%d,"age":%d}',
      run, tid, n, math.random(1, 1000), math.random(18, 80))
    return wrk.format("POST", "/users", {["Content-Type"] = "application/json"}, body)
  else
    local body = string.format('{"userId":%d,"amount":"%d.%02d","createdAt":"%s"}',
      user_id(), math.random(1, 500), math.random(0, 99), os.date("!%Y-%m-%dT%H:%M:%SZ"))
    return wrk.format("POST", "/transactions", {["Content-Type"] = "application/json"}, body)
  end
end
