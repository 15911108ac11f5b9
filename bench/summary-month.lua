-- GET /transactions/summary for one whole month (MONTH_FROM, MONTH_TO: ISO instants, set by bench/run)
-- of a random organisation, with its key (see keys.lua): summaries are per organisation.
local keys = dofile("bench/keys.lua")
math.randomseed(os.time())
local path = "/transactions/summary?from=" .. os.getenv("MONTH_FROM") .. "&to=" .. os.getenv("MONTH_TO")
request = function()
  return wrk.format("GET", path, keys.headers(keys.random_org()))
end
