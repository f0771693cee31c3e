-- A pull-mode work queue with Event.receive.
--
-- Shows: subscriptions without a callback, Event.receive(sub, timeout_ms)
-- returning the next event or nil on timeout, correlation ids linking a
-- job to its result, and Event.list_subscriptions.
--
-- Run: llmspell run examples/lua/events/work_queue.lua

local jobs = Event.subscribe("jobs.resize")
local results = Event.subscribe("jobs.done")

-- Producer: enqueue three jobs.
local ids = {}
for i, size in ipairs({ 640, 1024, 2048 }) do
  ids[i] = Event.publish("jobs.resize", { image = "img" .. i .. ".png", width = size })
end

-- Worker: take jobs until the queue stays empty for 50 ms.
local done = 0
while true do
  local job = Event.receive(jobs, 50)
  if not job then break end
  local area = Tool.invoke("calculator", {
    expression = "w * w * 3 / 4", variables = { w = job.data.width } })
  Event.publish("jobs.done", { image = job.data.image, pixels = area.result },
                { correlation_id = job.correlation_id })
  done = done + 1
end
print("jobs processed:", done)

-- Collector: match results to jobs by correlation id.
for _ = 1, done do
  local r = Event.receive(results, 1000)
  print(string.format("%-9s %9d pixels", r.data.image, r.data.pixels))
end

for _, s in ipairs(Event.list_subscriptions()) do
  print("subscription", s.pattern, "queued", s.queued)
end
assert(done == 3)
assert(Event.receive(jobs, 10) == nil, "the queue is empty")
