-- Shared by the wrk scripts: returns a function giving a random existing user and its organisation,
-- `id, org`, from the file IDS ("<id> <org>" per line, written by bench_ids in bench/lib.sh; seeding
-- leaves gaps in the ids, so a random id in the range could be a 404). Without IDS the script stops:
-- since API keys a request must carry the key of the user's organisation (bench/keys.lua).
local path = os.getenv("IDS")
local f = path and io.open(path)
if not f then error("IDS must name a file of '<id> <org>' lines (bench/lib.sh bench_ids writes it)") end
local first = f:read("*l")
if not (first and first:match("^%d+%s+%d+%s*$")) then
  error("IDS (" .. path .. ") must have '<id> <org>' lines, not '" .. tostring(first) .. "'")
end
local ids, orgs = {}, {}
local id, org = first:match("^(%d+)%s+(%d+)")
ids[1], orgs[1] = tonumber(id), tonumber(org)
while true do
  id, org = f:read("*n", "*n")
  if not org then break end
  local k = #ids + 1
  ids[k], orgs[k] = id, org
end
f:close()
local n = #ids
return function()
  local i = math.random(1, n)
  return ids[i], orgs[i]
end
