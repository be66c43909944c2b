-- wrk script: failed logins for FILL_NAMES distinct usernames, FILL_REPEAT wrong passwords each
-- (benches/attack-logins.sh), to fill the login throttle's table. Names are
-- "FILL_PREFIX-<thread>-<n>", unique per thread; FILL_THREADS must be wrk's -t. Once a thread
-- has sent its share of logins it sends `GET /healthz` ten times a second until wrk is stopped
-- (by benches/attack-logins.sh, once the server's metrics count every login answered): a
-- thread stopping itself would close connections with logins in flight, and a login whose
-- client went away is not counted by the throttle.
local names = tonumber(os.getenv("FILL_NAMES") or "100000")
local repeats = tonumber(os.getenv("FILL_REPEAT") or "1")
local prefix = os.getenv("FILL_PREFIX") or "fill"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

-- init() runs in each thread's own Lua state, which does not see setup()'s count.
function init()
  quota = math.ceil(names / tonumber(os.getenv("FILL_THREADS") or "2")) * repeats
  sent = 0
end

-- wrk calls the first thread's request() once before the run to check what it returns, and
-- sends nothing of it: each thread's first request is a throwaway `GET /healthz`, so that no
-- name is lost.
local primed = false

function request()
  if not primed or sent >= quota then
    primed = true
    return wrk.format("GET", "/healthz")
  end
  local name = string.format("%s-%d-%d", prefix, thread_id, math.floor(sent / repeats))
  sent = sent + 1
  local body = '{"username": "' .. name .. '", "password": "wrong"}'
  return wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, body)
end

function delay()
  return sent >= quota and 100 or 0
end
