-- bench/users-random.lua's requests, each connection pausing PACE_MS (milliseconds, fractions
-- allowed) before each request: N connections offer at most N * 1000 / PACE_MS requests/s, an
-- offered rate that does not grow when the server answers faster (503s included).
dofile("bench/users-random.lua")
local pause = tonumber(os.getenv("PACE_MS") or "0")
function delay()
  return pause
end
