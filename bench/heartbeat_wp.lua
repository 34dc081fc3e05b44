-- wrk script for the WordPress side of bench/heartbeat.py (bench/wordpress.py): the heartbeats
-- of heartbeat.lua, sent as a logged-in browser sends a plugin's admin-ajax POST (the action is
-- ACTION in bench/wordpress.py).
--
-- args[1] is a file of "user_id<TAB>joined_epoch<TAB>Cookie header<TAB>nonce" lines: the auth
-- and logged_in cookies of a session made by wp_set_auth_cookie(), and an ajax nonce for the
-- action. Users, positions (now - joined - 2: never ahead of wall-clock time) and the per-user
-- cooldown are those of heartbeat.lua. A response counts as ok only when WordPress answered
-- 200 with {"success":true,...}; a 200 without it (admin-ajax's bare "0") counts as bad.

local users = {}
ok = 0
clamped = 0
non200 = 0
bad = 0

local COOLDOWN = 6
local last_used = {}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8",
  ["X-Requested-With"] = "XMLHttpRequest",
}

function init(args)
  for line in io.lines(args[1]) do
    local joined, cookie, nonce = line:match("^%d+\t(%d+)\t([^\t]+)\t(%S+)$")
    if joined then
      users[#users + 1] = { tonumber(joined), cookie, nonce }
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
  headers["Cookie"] = user[2]
  return wrk.format("POST", "/wp-admin/admin-ajax.php", headers,
    "action=webinar_heartbeat&_ajax_nonce=" .. user[3] .. "&position_sec=" .. position)
end

function response(status, _, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body:find('"success":true', 1, true) then
    ok = ok + 1
    if body:find('"clamped":true', 1, true) then
      clamped = clamped + 1
    end
  else
    bad = bad + 1
  end
end

function done(summary, latency, _)
  local total_ok, total_clamped, total_non200, total_bad = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_clamped = total_clamped + thread:get("clamped")
    total_non200 = total_non200 + thread:get("non200")
    total_bad = total_bad + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'AWBENCH {"requests": %d, "duration_us": %d, "ok": %d, "clamped": %d, "non200": %d, '
      .. '"bad": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p95": %d, "p99": %d, '
      .. '"max": %d}}\n',
    summary.requests, summary.duration, total_ok, total_clamped, total_non200, total_bad,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
