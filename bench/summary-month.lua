-- GET /transactions/summary for one whole month (MONTH_FROM, MONTH_TO: ISO instants, set by bench/run).
local from = os.getenv("MONTH_FROM")
local to = os.getenv("MONTH_TO")
request = function()
  return wrk.format("GET", "/transactions/summary?from=" .. from .. "&to=" .. to)
end
