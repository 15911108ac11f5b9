-- Writes only: POST /users and POST /transactions in turn, every body unique to this run, thread and
-- request, each with the key of the organisation it writes to (see keys.lua): POST /users with orgId a
-- random organisation and that organisation's key, POST /transactions for a random existing user (see
-- ids.lua) with the key of the user's organisation. With IDEMPOTENCY_KEY=1 each request carries an
-- Idempotency-Key of its own (a first request: the key is held, looked up and stored with the write),
-- otherwise none. WRITES=users or WRITES=transactions: that route alone (bench/cluster --delayed-writer
-- measures each apart).
local user = dofile("bench/ids.lua")
local keys = dofile("bench/keys.lua")
local run = (os.getenv("RUN_ID") or "") .. os.time()
local keyed = os.getenv("IDEMPOTENCY_KEY") == "1"
local only = os.getenv("WRITES") or ""
if only ~= "" and only ~= "users" and only ~= "transactions" then
  error("WRITES must be users, transactions or empty (both in turn), not " .. only)
end
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
  local headers = {["Content-Type"] = "application/json"}
  if keyed then
    headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, tid, n)
  end
  if only == "users" or (only == "" and n % 2 == 0) then
    local org = keys.random_org()
    headers["Authorization"] = keys.bearer(org)
    local body = string.format('{"email":"w-%s-%d-%d@bench.test","role":"member","orgId":%d,"age":%d}',
      run, tid, n, org, math.random(18, 80))
    return wrk.format("POST", "/users", headers, body)
  end
  local id, org = user()
  headers["Authorization"] = keys.bearer(org)
  local body = string.format('{"userId":%d,"amount":"%d.%02d","createdAt":"%s"}',
    id, math.random(1, 500), math.random(0, 99), os.date("!%Y-%m-%dT%H:%M:%SZ"))
  return wrk.format("POST", "/transactions", headers, body)
end
