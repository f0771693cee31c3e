-- Bounded queues and overflow policies.
--
-- Shows: per-subscription capacity with the four overflow policies:
-- drop_oldest keeps the newest events, drop_newest keeps the oldest,
-- reject makes Event.publish raise an error naming the full subscriber,
-- and Event.stats / Event.list_subscriptions reporting what was dropped.
--
-- Run: llmspell run examples/lua/events/backpressure.lua

local newest = Event.subscribe("sensor.temp", { capacity = 3, overflow = "drop_oldest" })
local oldest = Event.subscribe("sensor.temp", { capacity = 3, overflow = "drop_newest" })

for i = 1, 10 do Event.publish("sensor.temp", { reading = i }) end

local function drain(sub)
  local seen = {}
  while true do
    local ev = Event.receive(sub, 20)
    if not ev then break end
    table.insert(seen, ev.data.reading)
  end
  return table.concat(seen, ",")
end
local kept_newest, kept_oldest = drain(newest), drain(oldest)
print("drop_oldest kept:", kept_newest)
print("drop_newest kept:", kept_oldest)
assert(kept_newest == "8,9,10" and kept_oldest == "1,2,3")

-- reject: the publisher learns at once that a consumer is full.
local strict = Event.subscribe("billing.charge", { capacity = 2, overflow = "reject" })
Event.publish("billing.charge", { amount = 1 })
Event.publish("billing.charge", { amount = 2 })
local ok, err = pcall(Event.publish, "billing.charge", { amount = 3 })
print("third charge rejected:", not ok, err)
assert(not ok)

local stats = Event.stats()
print(string.format("published=%d delivered=%d dropped=%d", stats.published, stats.delivered, stats.dropped))
assert(stats.dropped >= 15, "7 evicted + 7 refused + 1 rejected")
strict:unsubscribe()
