-- The mixed profile, each request with the key of the organisation it names (see keys.lua): 80% GET
-- /users/{id} (a random existing user, see ids.lua, with its organisation's key), 10% GET
-- /orgs/{id}/stats (a random organisation, its key), 5% POST /users (orgId a random organisation, its
-- key; an email unique to this run, thread and request), 5% POST /transactions (a random existing user,
-- its organisation's key, now). Every answer but 2xx counts as an error in wrk's Non-2xx.
local user = dofile("bench/ids.lua")
local keys = dofile("bench/keys.lua")
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
    local id, org = user()
    return wrk.format("GET", "/users/" .. id, keys.headers(org))
  elseif r <= 90 then
    local org = keys.random_org()
    return wrk.format("GET", "/orgs/" .. org .. "/stats", keys.headers(org))
  elseif r <= 95 then
    local org = keys.random_org()
    local body = string.format('{"email":"mix-%s-%d-%d@bench.test","role":"member","orgId":%d,"age":%d}',
      run, tid, n, org, math.random(18, 80))
    return wrk.format("POST", "/users",
      {["Content-Type"] = "application/json", ["Authorization"] = keys.bearer(org)}, body)
  else
    local id, org = user()
    local body = string.format('{"userId":%d,"amount":"%d.%02d","createdAt":"%s"}',
      id, math.random(1, 500), math.random(0, 99), os.date("!%Y-%m-%dT%H:%M:%SZ"))
    return wrk.format("POST", "/transactions",
      {["Content-Type"] = "application/json", ["Authorization"] = keys.bearer(org)}, body)
  end
end
