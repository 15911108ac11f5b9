-- Shared by the wrk scripts: the API keys of the seeded organisations, from the file KEYS ("<org> <key>"
-- per line, written by bench_keys in bench/lib.sh with `keys create --org 1-N`). Returns a table:
--   keys.headers(org)  a headers table {Authorization = "Bearer <org's key>"} for a GET (one per org,
--                      reused); stops the script if org has no key
--   keys.bearer(org)   "Bearer <org's key>", for a request that has other headers too
--   keys.random_org()  a random organisation among those with a key
--   keys.unknown()     "Bearer <a new random key>": well formed (fk_, 30 random base62 characters and
--                      their CRC32 in 6 base62 characters, as dev.fortress.auth.ApiKeyFormat makes them),
--                      so the server looks it up, and made by no one, so it answers 401
local bit = require("bit")
local path = os.getenv("KEYS")
local f = path and io.open(path)
if not f then error("KEYS must name a file of '<org> <key>' lines (bench/lib.sh bench_keys writes it)") end
local bearer, headers, orgs = {}, {}, {}
for line in f:lines() do
  local org, key = line:match("^(%d+)%s+(fk_%w+)%s*$")
  if not org then error("KEYS (" .. path .. "): not an '<org> <key>' line: " .. line) end
  org = tonumber(org)
  bearer[org] = "Bearer " .. key
  headers[org] = {["Authorization"] = bearer[org]}
  orgs[#orgs + 1] = org
end
f:close()
if #orgs == 0 then error("KEYS (" .. path .. ") has no keys") end

local BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local digit = {}
for i = 1, 62 do digit[i - 1] = BASE62:sub(i, i) end
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if bit.band(c, 1) == 1 then c = bit.bxor(bit.rshift(c, 1), 0xEDB88320) else c = bit.rshift(c, 1) end
  end
  crc_table[i] = c
end
-- ApiKeyFormat's checksum: the CRC32 of the 30 random characters, in 6 base62 digits, most significant first.
local function checksum(random)
  local c = 0xFFFFFFFF
  for i = 1, #random do
    c = bit.bxor(crc_table[bit.band(bit.bxor(c, random:byte(i)), 0xFF)], bit.rshift(c, 8))
  end
  c = bit.bxor(c, 0xFFFFFFFF)
  if c < 0 then c = c + 4294967296 end
  local out = {}
  for i = 6, 1, -1 do
    out[i] = digit[c % 62]
    c = math.floor(c / 62)
  end
  return table.concat(out)
end
-- The checksum must be the server's, or every "unknown" key would be a malformed one, refused without
-- a look-up: check it against a real key.
local sample = bearer[orgs[1]]:sub(#"Bearer " + 1)
if checksum(sample:sub(4, 33)) ~= sample:sub(34) then
  error("bench/keys.lua computes another checksum than the server's for " .. sample:sub(1, 11) .. "...")
end

local keys = {}
function keys.headers(org)
  return headers[org] or error("no key for organisation " .. tostring(org) .. " in " .. path)
end
function keys.bearer(org)
  return bearer[org] or error("no key for organisation " .. tostring(org) .. " in " .. path)
end
function keys.random_org()
  return orgs[math.random(1, #orgs)]
end
function keys.unknown()
  local random = {}
  for i = 1, 30 do random[i] = digit[math.random(0, 61)] end
  random = table.concat(random)
  return "Bearer fk_" .. random .. checksum(random)
end
return keys
