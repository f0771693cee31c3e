-- Topic patterns: who receives what.
--
-- Shows: Event.subscribe with exact topics, `*` (exactly one segment),
-- `**` (any number of segments) and globs inside a segment (`user_*`),
-- callbacks receiving events in publish order, and the event fields.
--
-- Run: llmspell run examples/lua/events/wildcard_routing.lua

local got = {}
local function collect(name)
  got[name] = {}
  return function(ev) table.insert(got[name], ev.type) end
end

Event.subscribe("orders.created", collect("exact"))
Event.subscribe("orders.*", collect("one segment"))
Event.subscribe("orders.**", collect("any depth"))
Event.subscribe("orders.*.shipped", collect("shipped in any region"))
Event.subscribe("user_*.login", collect("glob in a segment"))

for _, topic in ipairs({
  "orders.created", "orders.eu.shipped", "orders.us.shipped", "orders.cancelled",
  "orders.eu.returns.opened", "user_alice.login", "user_bob.login", "admin.login",
}) do
  Event.publish(topic, { at = os.time() })
end

-- Show the shape of one event.
local sub = Event.subscribe("demo.shape")
Event.publish("demo.shape", { answer = 42 }, { tags = { "demo" } })
local ev = Event.receive(sub, 1000)
print("event fields: type=" .. ev.type .. " language=" .. ev.language ..
      " sequence=" .. ev.sequence .. " tags=" .. ev.tags[1] .. " data.answer=" .. ev.data.answer)

-- Callbacks run whenever this script waits in a host call (or after it
-- ends); llmspell.sleep lets them run until all 12 deliveries arrived.
local function total()
  local n = 0
  for _, list in pairs(got) do n = n + #list end
  return n
end
local waited = 0
while total() < 12 and waited < 2000 do
  llmspell.sleep(1)
  waited = waited + 1
end

for _, name in ipairs({ "exact", "one segment", "any depth", "shipped in any region", "glob in a segment" }) do
  print(string.format("%-22s %s", name, table.concat(got[name], ", ")))
end
assert(#got["exact"] == 1)
assert(#got["one segment"] == 2)              -- orders.created, orders.cancelled
assert(#got["any depth"] == 5)                -- every orders.* topic at any depth
assert(#got["shipped in any region"] == 2)
assert(#got["glob in a segment"] == 2)        -- not admin.login
