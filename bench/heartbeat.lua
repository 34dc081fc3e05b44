-- wrk script for bench/heartbeat.py: heartbeats for random users with honest positions.
--
-- args[1] is a file of "user_id joined_epoch token" lines written by the bench after every
-- user has joined. A user who joined at J (position 0 at J) reports now - J - 2: never ahead
-- of wall-clock time. Like a real player (one heartbeat per HEARTBEAT_SEC = 10 s), a user is
-- not picked again within COOLDOWN seconds: the server grants slack only after half an
-- interval (1 s of it from 5 s of its own elapsed time) and rounds its clock to whole
-- seconds, so back-to-back heartbeats of one user could be clamped by a second. With fewer users than rate x COOLDOWN the
-- cooldown gives way after a few tries (and some heartbeats are clamped: still the full
-- path, last_seen_at is written). The bench pauses COOLDOWN seconds before each measured
-- run, since this table starts empty in every wrk process. Counters are globals so done()
-- can read them.

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

function init(args)
  for line in io.lines(args[1]) do
    local joined, token = line:match("^%d+ (%d+) (%S+)$")
    if joined then
      users[#users + 1] = { tonumber(joined), "Bearer " .. token }
    end
  end
  math.randomseed(os.time() * 1000 + seed)
end

local headers = { ["Content-Type"] = "application/json" }

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
    '{"position_sec": ' .. position .. '}')
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
