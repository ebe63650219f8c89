-- The common part of every wrk run of `cargo xtask bench`. The bench writes a prologue before it that may
-- set `tokens` (refresh tokens) and `wrk_threads`: each thread then takes its share, and each connection
-- follows its own rotation chain, as a device would. Runs without tokens define no per-request function,
-- so wrk sends its one prebuilt request exactly as a plain `wrk` command line does. done() prints one JSON
-- line for the bench; every answer must be 200 (wrk counts non-2xx/3xx in errors.status, and the
-- refresh run also counts every answer other than 200 itself).
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   if tokens then
      -- wrk starts threads in order; each gets connections/threads of them plus one (see tokens_needed).
      local share = math.floor(#tokens / wrk_threads)
      local first = (#threads - 1) * share
      local mine = {}
      for i = first + 1, first + share do table.insert(mine, tokens[i]) end
      thread:set("token_list", table.concat(mine, ","))
   end
end

if tokens then
   function init(args)
      unexpected = 0
      chain = {}
      for t in string.gmatch(token_list, "[^,]+") do table.insert(chain, t) end
   end

   function request()
      local token = table.remove(chain) or "exhausted"
      return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
   end

   function response(status, headers, body)
      if status == 200 then
         local token = string.match(body, '"refresh_token":"([^"]+)"')
         if token then
            table.insert(chain, token)
            return
         end
      end
      unexpected = unexpected + 1
      if not first_unexpected then
         first_unexpected = status .. " " .. string.sub(body or "", 1, 200)
      end
   end
end

local function json_string(s)
   return '"' .. string.gsub(string.gsub(s, '[\\"]', '\\%0'), '%c', ' ') .. '"'
end

function done(summary, latency, requests)
   local unexpected_total, sample = 0, ""
   for _, t in ipairs(threads) do
      unexpected_total = unexpected_total + (t:get("unexpected") or 0)
      local s = t:get("first_unexpected")
      if s and sample == "" then sample = s end
   end
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"non_2xx":%d,"unexpected":%d,"socket_errors":%d,"sample":%s}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.status, unexpected_total,
      e.connect + e.read + e.write + e.timeout, json_string(sample)))
end
