-- wrk script: full-text searches over the words in WORDS (space-separated), in turn,
-- 20 results a page, with a bearer token (TOKEN).
local token = os.getenv("TOKEN") or ""
local words = {}
for w in string.gmatch(os.getenv("WORDS") or "search", "%S+") do table.insert(words, w) end
local n = 0
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"
request = function()
  n = n + 1
  return wrk.format("GET", wrk.path .. "?limit=20&q=" .. words[(n % #words) + 1])
end
dofile(os.getenv("REPORT_LUA"))
