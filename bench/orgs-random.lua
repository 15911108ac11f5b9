-- GET /orgs/{id}/stats for a random org among 1..1000 (the seeded orgs).
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/orgs/" .. math.random(1, 1000) .. "/stats")
end
