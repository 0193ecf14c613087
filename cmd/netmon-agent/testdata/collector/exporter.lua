-- What prometheus-node-exporter-lua gives a collector, from its
-- documented behaviour: output() prints a line, metric() a TYPE line and
-- samples; the collector's scrape runs under pcall and its success is a
-- sample of node_scrape_collector_success. Usage: lua5.1 exporter.lua COLLECTOR.lua
function output(s) print(s) end

function metric(name, mtype, labels, value)
  output("# TYPE " .. name .. " " .. mtype)
  local function emit(labels, value)
    local l = ""
    if labels then
      local parts = {}
      for k, v in pairs(labels) do parts[#parts + 1] = k .. '="' .. v .. '"' end
      l = "{" .. table.concat(parts, ",") .. "}"
    end
    output(string.format("%s%s %s", name, l, value))
  end
  if value then emit(labels, value) end
  return emit
end

local collector = dofile(arg[1])
local ok, err = pcall(collector.scrape)
if not ok then io.stderr:write(tostring(err) .. "\n") end
metric("node_scrape_collector_success", "gauge", { collector = "netmon" }, ok and 1 or 0)
