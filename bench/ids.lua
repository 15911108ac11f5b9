-- Shared by the wrk scripts: returns a function giving a random existing user id, from the file
-- IDS (one id per line, written by bench/run and bench/tuning), else 1..USERS (default 1,000,000;
-- ids missing from a seeded range answer 404).
local ids = {}
local f = os.getenv("IDS") and io.open(os.getenv("IDS"))
if f then
  for line in f:lines() do ids[#ids + 1] = tonumber(line) end
  f:close()
end
local users = tonumber(os.getenv("USERS") or "1000000")
return function()
  if #ids > 0 then return ids[math.random(1, #ids)] end
  return math.random(1, users)
end
