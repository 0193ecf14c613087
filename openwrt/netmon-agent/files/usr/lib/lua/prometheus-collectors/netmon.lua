-- netmon-agent for prometheus-node-exporter-lua: the meters, hosts and
-- blocks, exactly as the agent's own /metrics would serve them, from
-- `netmon-agent metrics` (no web server needed). NETMON_AGENT names
-- another binary (tests).

local agent = os.getenv("NETMON_AGENT") or "/usr/sbin/netmon-agent"

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
  output((text:gsub("\n$", "")))
end

return { scrape = scrape }
