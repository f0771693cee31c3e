-- Shared hooks, part 1 (Lua): a pricing policy for every calculator call.
--
-- Shows: a Lua hook that fires for tool calls made by any script in the
-- runtime, ctx.language telling which language started the call, and a
-- `modified` result that fills in a missing `vat` variable, here for calls
-- made from JavaScript (app.js). Lua globals are shared with report.lua.
--
-- Run: llmspell run examples/cross-language/shared_hooks/policy.lua \
--        examples/cross-language/shared_hooks/app.js examples/cross-language/shared_hooks/report.lua

policy_log = {}   -- global: report.lua checks it

Hook.register("BeforeToolExecution", function(ctx)
  table.insert(policy_log, ctx.language)
  local vars = ctx.data.variables or {}
  print(string.format("[lua hook] %s called from %s: %s", ctx.component.name, ctx.language, ctx.data.expression))
  if vars.vat == nil then
    local input = ctx.data
    vars.vat = 0.2
    input.variables = vars
    return { action = "modified", data = input }
  end
end, { name = "vat-policy", component = "calculator", tags = { "policy" } })

print("[lua] vat-policy installed")
