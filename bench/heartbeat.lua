-- wrk script for bench/heartbeat.py: heartbeats for random users with honest positions.
--
-- args[1] is a file of "user_id joined_epoch token anchor" lines written by the bench after
-- every user has joined. A user who joined at J (position p at J, J rounded down) reports
-- now - J - 2: never ahead of wall-clock time, so never clamped. It echoes the anchor of its
-- join: a player echoes its latest anchor, but any anchor of the viewing credits the same
-- wall-clock time, and wrk cannot tie a response to the user it was for. Like a real player
-- (one heartbeat per HEARTBEAT_SEC = 10 s), a user is not picked again within COOLDOWN
-- seconds; with fewer users than rate x COOLDOWN the cooldown gives way after a few tries.
-- args[2] == "close" sends "Connection: close": a new TCP connection per heartbeat, as from
-- clients without keep-alive. Counters are globals so done() can read them.

local users = {}
ok = 0
clamped = 0
non200 = 0

local COOLDOWN = 6
local last_used = {}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

local headers = { ["Content-Type"] = "application/json" }

function init(args)
  for line in io.lines(args[1]) do
    local joined, token, anchor = line:match("^%d+ (%d+) (%S+) (%S+)$")
    if joined then
      users[#users + 1] = { tonumber(joined), "Bearer " .. token, anchor }
    end
  end
  if args[2] == "close" then
    headers["Connection"] = "close"
  end
  math.randomseed(os.time() * 1000 + seed)
end

function request()
  local now = os.time()
  local index = math.random(#users)
  for _ = 1, 20 do
    if (last_used[index] or 0) + COOLDOWN <= now then
      break
    end
    index = math.random(#users)
  end
  last_used[index] = now
  local user = users[index]
  local position = now - user[1] - 2
  if position < 0 then
    position = 0
  end
  headers["Authorization"] = user[2]
  return wrk.format("POST", "/api/v1/session/heartbeat", headers,
    '{"position_sec": ' .. position .. ', "anchor": "' .. user[3] .. '"}')
end

function response(status, _, body)
  if status == 200 then
    ok = ok + 1
    if body:find('"clamped":true', 1, true) then
      clamped = clamped + 1
    end
  else
    non200 = non200 + 1
  end
end

function done(summary, latency, _)
  local total_ok, total_clamped, total_non200 = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_clamped = total_clamped + thread:get("clamped")
    total_non200 = total_non200 + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format(
    'AWBENCH {"requests": %d, "duration_us": %d, "ok": %d, "clamped": %d, "non200": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p95": %d, "p99": %d, '
      .. '"max": %d}}\n',
    summary.requests, summary.duration, total_ok, total_clamped, total_non200,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
