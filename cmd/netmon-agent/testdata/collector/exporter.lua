-- A stand-in for prometheus-node-exporter-lua run as a script
-- (/usr/bin/prometheus-node-exporter-lua with arguments), written from its
-- source in openwrt/packages utils/prometheus-node-exporter-lua (read at
-- bb43d5f): the same globals a collector sees (space_split, get_contents,
-- metric, and print_metric, which drops a nil value and writes label values
-- between quotes as they are), the same order of output (both
-- node_scrape_collector_* TYPE lines first, then each collector's own
-- lines, then its duration and success samples), and each scrape under
-- pcall, its error on stderr. The real one loads collectors with require
-- from /usr/lib/lua/prometheus-collectors/; this one takes their paths and
-- does not time them (socket is not needed). output is the exporter's
-- global, set to print when run as a script, as the real one does; our
-- collector uses only metric().
-- Usage: lua5.1 exporter.lua COLLECTOR.lua...

function space_split(s)
  local elements = {}
  for element in s:gmatch("%S+") do
    table.insert(elements, element)
  end
  return elements
end

function get_contents(filename)
  local f = io.open(filename, "rb")
  local contents = ""
  if f then
    contents = f:read "*a"
    f:close()
  end
  return contents
end

function print_metric(metric, labels, value)
  local label_string = ""
  if type(value) == "nil" then
    return
  end
  if labels then
    for label, value in pairs(labels) do
      label_string = label_string .. label .. '="' .. value .. '",'
    end
    label_string = "{" .. string.sub(label_string, 1, -2) .. "}"
  end
  output(string.format("%s%s %s", metric, label_string, value))
end

function metric(name, mtype, labels, value)
  output("# TYPE " .. name .. " " .. mtype)
  local outputter = function(labels, value)
    print_metric(name, labels, value)
  end
  if value then
    outputter(labels, value)
  end
  return outputter
end

local function timed_scrape(collector)
  local success = 1
  local status, err = pcall(collector.scrape)
  if not status then
    success = 0
    io.stderr:write(tostring(err) .. "\n")
  end
  return 0, success
end

col_mods, col_names = {}, {}
for _, path in ipairs(arg) do
  local c = path:match("([^/]+)%.lua$")
  col_mods[c] = dofile(path)
  col_names[#col_names + 1] = c
end

output = print

local metric_duration = metric("node_scrape_collector_duration_seconds", "gauge")
local metric_success = metric("node_scrape_collector_success", "gauge")
for _, cname in pairs(col_names) do
  local duration, success = timed_scrape(col_mods[cname])
  local labels = { collector = cname }
  metric_duration(labels, duration)
  metric_success(labels, success)
end
