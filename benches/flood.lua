-- wrk script: one user adding to the lists as fast as it can (benches/bounds.sh).
-- FLOOD_TOKEN: the user's token; FLOOD_ROUTES: "snacks", "drawers" or "snacks drawers" (taken
-- in turn); FLOOD_LONG=1 makes every name 64 four-byte characters long, the heaviest a name
-- may be. Names are unique per thread and request, so each write would lengthen a list.
local token = os.getenv("FLOOD_TOKEN")
local routes = {}
for route in string.gmatch(os.getenv("FLOOD_ROUTES") or "snacks", "%S+") do
  table.insert(routes, "/" .. route .. "/")
end
local long = os.getenv("FLOOD_LONG") == "1"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local sent = 0
function request()
  sent = sent + 1
  local name = string.format("flood %d-%d", thread_id, sent)
  if long then
    name = name .. string.rep("🍪", 64 - #name)  -- one character per byte of the ASCII prefix
  end
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  local route = routes[sent % #routes + 1]
  return wrk.format("POST", route, headers, '{"name": "' .. name .. '"}')
end
