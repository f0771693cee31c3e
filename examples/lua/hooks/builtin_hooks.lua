-- Turning on the built-in hooks from a script with Hook.use, and reading
-- their figures with Hook.report.
--
-- Shows: caching (a hit skips the tool), rate_limit (a call over quota is
-- cancelled), retry (a failing tool really runs again), security (a tool
-- denied by name, with a hash-chained audit log), and each hook's report.
--
-- Run: llmspell run examples/lua/hooks/builtin_hooks.lua

local runs = 0
Tool.register({
  name = "lookup",
  description = "looks a word up (pretend this calls a slow service)",
  parameters = { type = "object", required = { "word" },
                 properties = { word = { type = "string" }, flaky = { type = "boolean" } } },
  handler = function(p)
    runs = runs + 1
    if p.flaky and runs % 3 ~= 0 then error("the service hiccuped") end
    return { word = p.word, length = #p.word }
  end,
})

-- Caching: the second identical call is served from the cache.
local cache = Hook.use("caching", { ttl_ms = 60000, component = "lookup" })
Tool.invoke("lookup", { word = "spell" })
Tool.invoke("lookup", { word = "spell" })
print("caching:", "tool ran " .. runs .. " time(s);", "hits " .. cache:report().hits)
cache:unregister()

-- Rate limit: one call per minute for this tool; the second is cancelled.
Hook.use("rate_limit", { per_minute = 1, burst = 1, component = "calculator", mode = "cancel" })
Tool.invoke("calculator", { expression = "6 * 7" })
local ok, err = pcall(Tool.invoke, "calculator", { expression = "6 * 7" })
print("rate_limit:", ok, err.kind, "limited " .. Hook.report("rate_limit").limited)

-- Retry: a flaky call fails twice and succeeds on the third run.
Hook.use("retry", { max_attempts = 3, backoff_ms = 5, retry_on = { "tool_failed" } })
runs = 0
local out = Tool.invoke("lookup", { word = "retry", flaky = true })
print("retry:", "succeeded after " .. runs .. " runs;", "retries " .. Hook.report("retry").retries)

-- Security: deny a family of tools by name, audit every decision.
local security = Hook.use("security", { audit = true, deny = { { tool = "process_*" } } })
Tool.invoke("lookup", { word = "audited" })
local report = security:report()
print("security:", "violations " .. report.violations, "audit records verified " .. report.audit.verified)

-- An unknown option names the valid ones.
local bad_ok, bad = pcall(Hook.use, "caching", { ttl = 5 })
print("error:", tostring(bad):match("did you mean `ttl_ms`") ~= nil)
