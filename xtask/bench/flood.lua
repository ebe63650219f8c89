-- The login flood of `cargo xtask bench --flood`: every request is a login for a new unknown email with a
-- wrong password, so each one the server admits costs a full password verification. Counts the answers:
-- 401 (admitted and verified), 503 with Retry-After (shed), anything else (a failure of the run). done()
-- prints one JSON line for the bench.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

function init(args)
   n, rejected, shed, other = 0, 0, 0, 0
   wrk.method = "POST"
   wrk.path = "/api/v1/auth/login"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   n = n + 1
   return wrk.format(nil, nil, nil,
      string.format('{"email":"flood-%d-%d@example.com","password":"Wrong-Password-1!"}', id, n))
end

function response(status, headers, body)
   if status == 401 then
      rejected = rejected + 1
   elseif status == 503 and (headers["retry-after"] or headers["Retry-After"]) then
      shed = shed + 1
   else
      other = other + 1
      if not first_other then first_other = status .. " " .. string.sub(body or "", 1, 200) end
   end
end

local function json_string(s)
   return '"' .. string.gsub(string.gsub(s, '[\\"]', '\\%0'), '%c', ' ') .. '"'
end

function done(summary, latency, requests)
   local rejected_total, shed_total, other_total, sample = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      rejected_total = rejected_total + (t:get("rejected") or 0)
      shed_total = shed_total + (t:get("shed") or 0)
      other_total = other_total + (t:get("other") or 0)
      local s = t:get("first_other")
      if s and sample == "" then sample = s end
   end
   local e = summary.errors
   io.write(string.format(
      '{"duration_us":%d,"rejected":%d,"shed":%d,"other":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,' ..
      '"sample":%s}\n',
      summary.duration, rejected_total, shed_total, other_total, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99), json_string(sample)))
end
