-- GET /users/{id} for a random id among the seeded users (USERS, default 1,000,000).
local users = tonumber(os.getenv("USERS") or "1000000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/users/" .. math.random(1, users))
end
