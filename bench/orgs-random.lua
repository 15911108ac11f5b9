-- GET /orgs/{id}/stats for a random organisation among those with a key (the seeded orgs 1..ORGS; see
-- keys.lua), with its own key; with HOT_ORG=<id>, always that organisation (the hot-org row).
local keys = dofile("bench/keys.lua")
math.randomseed(os.time())
local hot = tonumber(os.getenv("HOT_ORG") or "")
request = function()
  local org = hot or keys.random_org()
  return wrk.format("GET", "/orgs/" .. org .. "/stats", keys.headers(org))
end
