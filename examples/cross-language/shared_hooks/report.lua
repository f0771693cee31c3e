-- Shared hooks, part 3 (Lua): calls steered by the JavaScript hooks.
--
-- Shows: a uuid_generator call from Lua whose output the JS hook in app.js
-- replaces (the tool never runs), a calculator call from Lua that the Lua
-- policy leaves alone (vat given), and the Lua policy's log of which
-- language started each calculator call.
--
-- Run: llmspell run examples/cross-language/shared_hooks/policy.lua \
--        examples/cross-language/shared_hooks/app.js examples/cross-language/shared_hooks/report.lua

local id = Tool.invoke("uuid_generator", { operation = "generate" })
print("[lua] uuid from Lua: " .. id.uuid .. " (replaced by " .. tostring(id.replaced_by) .. ")")
assert(id.replaced_by == "javascript", "the JS hook replaced the Lua call's output")
assert(id.uuid == "00000000-0000-4000-8000-000000000001")

local net = Tool.invoke("calculator", { expression = "gross / (1 + vat)", variables = { gross = 60, vat = 0.5 } })
print("[lua] net price from Lua: " .. net.result)
assert(net.result == 40, "vat was given, so the policy did not change it")

print("[lua] policy saw calculator calls from: " .. table.concat(policy_log, ", "))
assert(#policy_log == 2 and policy_log[1] == "javascript" and policy_log[2] == "lua")
