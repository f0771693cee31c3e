-- Audit trail for tool calls.
--
-- Shows: Before/After/Error hooks on every tool, ctx fields (component,
-- correlation id, data), hook options (name, tags, priority), Hook.list.
-- Every call made by any script in the runtime is recorded with its
-- duration and outcome, without touching the code that makes the calls.
--
-- Run: llmspell run examples/lua/hooks/tool_audit.lua

local started = {}   -- correlation id -> os.clock() at start
local audit = {}     -- finished calls, in order

Hook.register("BeforeToolExecution", function(ctx)
  started[ctx.correlation_id] = os.clock()
end, { name = "audit-start", tags = { "audit" }, priority = "highest" })

local function finish(ctx, outcome)
  local t0 = started[ctx.correlation_id] or os.clock()
  started[ctx.correlation_id] = nil
  table.insert(audit, {
    tool = ctx.component.name,
    outcome = outcome,
    ms = (os.clock() - t0) * 1000,
  })
end

Hook.register("AfterToolExecution", function(ctx) finish(ctx, "ok") end,
  { name = "audit-ok", tags = { "audit" }, priority = "lowest" })
Hook.register("ToolError", function(ctx) finish(ctx, "error") end,
  { name = "audit-error", tags = { "audit" }, priority = "lowest" })

-- Some ordinary work.
Tool.invoke("calculator", { expression = "(2 + 3) * 7" })
Tool.invoke("text_manipulator", { operation = "uppercase", text = "hello" })
Tool.invoke("uuid_generator", { operation = "generate" })
pcall(Tool.invoke, "calculator", { expression = "1 / (" })  -- a failing call

print(string.format("%-18s %-7s %s", "tool", "outcome", "cpu ms"))
for _, row in ipairs(audit) do
  print(string.format("%-18s %-7s %.3f", row.tool, row.outcome, row.ms))
end
print("audit hooks installed: " .. #Hook.list({ tag = "audit" }))

assert(#audit == 4, "every call is audited, failures included")
assert(audit[4].outcome == "error")
