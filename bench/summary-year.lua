-- GET /transactions/summary for twelve whole months (YEAR_FROM, YEAR_TO: ISO instants, set by bench/run).
local from = os.getenv("YEAR_FROM")
local to = os.getenv("YEAR_TO")
request = function()
  return wrk.format("GET", "/transactions/summary?from=" .. from .. "&to=" .. to)
end
