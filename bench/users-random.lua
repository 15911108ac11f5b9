-- GET /users/{id} for a random existing user: ids from the file IDS (one per line, written by
-- bench/run), else 1..USERS (default 1,000,000; ids missing from a seeded range answer 404).
local ids = {}
local f = os.getenv("IDS") and io.open(os.getenv("IDS"))
if f then
  for line in f:lines() do ids[#ids + 1] = tonumber(line) end
  f:close()
end
local users = tonumber(os.getenv("USERS") or "1000000")
math.randomseed(os.time())
local function user_id()
  if #ids > 0 then return ids[math.random(1, #ids)] end
  return math.random(1, users)
end
request = function()
  return wrk.format("GET", "/users/" .. user_id())
end
