-- Resilience: retry a flaky tool, then fall back to another one.
--
-- Shows: a ToolError hook returning { action = "retry" } (the call runs
-- again, up to max_attempts) and a ToolError hook returning
-- { action = "redirect" } so a failing primary is replaced by a backup.
--
-- Run: llmspell run examples/lua/hooks/retry_and_fallback.lua

local attempts = 0
Tool.register({
  name = "flaky_quote",
  description = "fails twice, then answers",
  handler = function(params)
    attempts = attempts + 1
    if attempts < 3 then error("upstream timed out") end
    return { quote = "patience pays", attempt = attempts }
  end,
})

Tool.register({
  name = "primary_rates",
  description = "always down",
  handler = function() error("503 service unavailable") end,
})
Tool.register({
  name = "backup_rates",
  description = "the cached rate table",
  handler = function(params) return { eur_usd = 1.08, source = "backup" } end,
})

-- Retry transient failures of flaky_quote (up to 5 attempts, 10 ms apart).
Hook.register("ToolError", function(ctx)
  return { action = "retry", delay_ms = 10, max_attempts = 5 }
end, { component = "flaky_quote", name = "retry-transient" })

-- When the primary rate service fails, use the backup.
Hook.register("ToolError", function(ctx)
  return { action = "redirect", target = "backup_rates" }
end, { component = "primary_rates", name = "rates-fallback" })

local q = Tool.invoke("flaky_quote", {})
print("quote:", q.quote, "after attempts:", attempts)
assert(q.quote == "patience pays" and attempts == 3)

local r = Tool.invoke("primary_rates", { pair = "EUR/USD" })
print("rate:", r.eur_usd, "from", r.source)
assert(r.source == "backup")
