-- bench/users-random.lua's requests offered at RATE requests/s by the whole wrk thread (run it with
-- -t1), whatever the answers: each request takes the thread's next free slot, RATE a second, and
-- waits for it (wrk's delay is whole milliseconds: a request may leave up to 1 ms early). A faster
-- answer (a 503) does not bring the next request sooner, as it does in a closed loop; a connection
-- answered late takes the next slot at once (no burst to catch up). With enough connections (RATE
-- times the slowest answer) the offered rate is RATE whatever the latency.
dofile("bench/users-random.lua")
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } users_rate_timespec;
  int clock_gettime(int clock, users_rate_timespec *ts);
]]
local ts = ffi.new("users_rate_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = 1000 / tonumber(os.getenv("RATE"))
local slot = 0
function delay()
  local t = now_ms()
  if slot < t then
    slot = t
  end
  local wait = slot - t
  slot = slot + interval
  return wait
end
