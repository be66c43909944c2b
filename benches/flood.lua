-- wrk script: one user adding to the lists as fast as it can (benches/lib.sh, `flood`).
-- FLOOD_TOKEN: the user's token; FLOOD_ROUTES: "snacks", "drawers" or "snacks drawers" (taken
-- in turn); FLOOD_RUN: a number no earlier flood used, so names never repeat across runs (a
-- taken name would be refused, not added); FLOOD_LONG=1 makes every name 64 four-byte
-- characters, the heaviest a name may be. Each name is new, so each write would lengthen a list.
local token = os.getenv("FLOOD_TOKEN")
local run = os.getenv("FLOOD_RUN") or "0"
local routes = {}
for route in string.gmatch(os.getenv("FLOOD_ROUTES") or "snacks", "%S+") do
  table.insert(routes, "/" .. route .. "/")
end
local long = os.getenv("FLOOD_LONG") == "1"
-- Four-byte characters standing for the digits and the dash of a short name, and the filler.
local glyphs = { ["-"] = "🍩", ["0"] = "🍎", ["1"] = "🍌", ["2"] = "🍒", ["3"] = "🍓",
  ["4"] = "🍇", ["5"] = "🍉", ["6"] = "🍊", ["7"] = "🍋", ["8"] = "🍍", ["9"] = "🍑" }
local filler = "🍪"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

-- "RUN-THREAD-N" as 64 four-byte characters: each ASCII character becomes one glyph.
local function heaviest(short)
  return short:gsub(".", glyphs) .. string.rep(filler, 64 - #short)
end

local sent = 0
function request()
  sent = sent + 1
  local name = string.format("%s-%d-%d", run, thread_id, sent)
  if long then
    name = heaviest(name)
  end
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  local route = routes[sent % #routes + 1]
  return wrk.format("POST", route, headers, '{"name": "' .. name .. '"}')
end
