-- Memoising an expensive tool with a `cache` hook result.
--
-- Shows: a script-defined tool (Tool.register), a Before hook returning
-- { action = "cache", key, ttl_ms } so repeated calls with the same input
-- are answered from the runtime's cache without running the tool, and the
-- `cache_hit` flag on completion events.
--
-- Run: llmspell run examples/lua/hooks/cache_results.lua

local runs = 0
Tool.register({
  name = "slow_square",
  description = "squares a number (pretend this calls a slow service)",
  parameters = { type = "object", required = { "n" },
                 properties = { n = { type = "number" } } },
  handler = function(params)
    runs = runs + 1
    return { square = params.n * params.n }
  end,
})

Hook.register("BeforeToolExecution", function(ctx)
  return { action = "cache", key = "slow_square:" .. JSON.encode(ctx.data), ttl_ms = 60000 }
end, { component = "slow_square", name = "memoise" })

-- A pull subscription (no callback) to read the completion events afterwards.
local completions = Event.subscribe("tool.slow_square.completed")

for _, n in ipairs({ 3, 4, 3, 3, 4, 5 }) do
  local out = Tool.invoke("slow_square", { n = n })
  print(n, "->", out.square)
end
print("tool runs:", runs)
assert(runs == 3, "only the distinct inputs ran")

local hits = 0
while true do
  local ev = Event.receive(completions, 100)   -- nil once nothing arrives for 100 ms
  if not ev then break end
  if ev.data.cache_hit then hits = hits + 1 end
end
print("cache hits seen in completion events:", hits)
assert(hits == 3)
