-- GET /transactions/summary for twelve whole months (YEAR_FROM, YEAR_TO: ISO instants, set by bench/run)
-- of a random organisation, with its key (see keys.lua): summaries are per organisation.
local keys = dofile("bench/keys.lua")
math.randomseed(os.time())
local path = "/transactions/summary?from=" .. os.getenv("YEAR_FROM") .. "&to=" .. os.getenv("YEAR_TO")
request = function()
  return wrk.format("GET", path, keys.headers(keys.random_org()))
end
