-- netmon-agent for prometheus-node-exporter-lua: the meters, hosts and
-- blocks, as the agent's own /metrics would serve them, from
-- `netmon-agent metrics` (no web server needed). NETMON_AGENT names
-- another binary (tests).
--
-- Only the exporter's collector API is used: metric(name, type) prints the
-- family's TYPE line and returns the writer of its samples, fn(labels,
-- value), as the exporter's own collectors do. The exporter writes a label
-- value between quotes as it is, so the agent's escaped values go through
-- untouched. HELP lines are left out: the exporter has no way to print them.

local agent = os.getenv("NETMON_AGENT") or "/usr/sbin/netmon-agent"

-- labels parses `{a="x",b="y\"z"}` (the text after a metric's name) into
-- a table of the values still escaped, and returns the rest of the line.
local function labels(s)
  if s:sub(1, 1) ~= "{" then
    return nil, s
  end
  local out, i = {}, 2
  while true do
    i = s:find("[^%s,]", i)
    if not i then
      error("netmon: unterminated labels: " .. s)
    end
    if s:sub(i, i) == "}" then
      return out, s:sub(i + 1)
    end
    local name, j = s:match('^([%a_][%w_]*)="()', i)
    if not name then
      error("netmon: malformed label in " .. s)
    end
    local k = j
    while true do
      local c = s:sub(k, k)
      if c == "" then
        error("netmon: unterminated label value in " .. s)
      elseif c == "\\" then
        k = k + 2
      elseif c == '"' then
        break
      else
        k = k + 1
      end
    end
    out[name] = s:sub(j, k - 1)
    i = k + 1
  end
end

local function scrape()
  local p = io.popen(agent .. " metrics 2>/dev/null")
  if not p then
    error("netmon-agent metrics: cannot run " .. agent)
  end
  local text = p:read("*a")
  p:close()
  if text == nil or text == "" then
    error("netmon-agent metrics printed nothing")
  end
  local writers = {}
  for line in text:gmatch("[^\n]+") do
    local name, mtype = line:match("^# TYPE ([%a_:][%w_:]*) (%a+)$")
    if name then
      writers[name] = metric(name, mtype)
    elseif line:sub(1, 1) ~= "#" then
      local sample, rest = line:match("^([%a_:][%w_:]*)(.*)$")
      if not sample then
        error("netmon: malformed line: " .. line)
      end
      local l, tail = labels(rest)
      local value = tail:match("^%s+(%S+)")
      if not value then
        error("netmon: no value in: " .. line)
      end
      local w = writers[sample]
      if not w then
        w = metric(sample, "untyped")
        writers[sample] = w
      end
      w(l, value)
    end
  end
end

return { scrape = scrape }
