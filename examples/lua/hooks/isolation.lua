-- Misbehaving hooks cannot break the host.
--
-- Shows: a per-hook time limit (timeout_ms) that interrupts even a busy
-- loop, a hook that raises an error, fail modes ("open" lets the call
-- through, "closed" refuses it), and the circuit breaker that stops calling
-- a hook that keeps failing.
--
-- Run: llmspell run examples/lua/hooks/isolation.lua

-- A hook stuck in a loop: interrupted after 50 ms; fail-open, so the call proceeds.
local spin = Hook.register("BeforeToolExecution", function(ctx)
  while true do end
end, { name = "stuck", timeout_ms = 50, fail = "open", component = "calculator" })

local out = Tool.invoke("calculator", { expression = "6 * 7" })
print("call went through despite a stuck hook:", out.result)
assert(out.result == 42)
spin:unregister()

-- A hook that raises, fail-closed: the call is refused with the hook's message.
local broken = Hook.register("BeforeToolExecution", function(ctx)
  error("policy service unreachable")
end, { name = "policy", fail = "closed", component = "calculator" })
local ok, err = pcall(Tool.invoke, "calculator", { expression = "1 + 1" })
print("fail-closed hook refused the call:", not ok)
assert(not ok and err:find("policy service unreachable", 1, true))
broken:unregister()

-- A hook that always fails, fail-open: after a few failures the breaker
-- opens and the hook is no longer called at all.
local calls = 0
Hook.register("AfterToolExecution", function(ctx)
  calls = calls + 1
  error("metrics sink down")
end, { name = "metrics", fail = "open", component = "calculator" })
for i = 1, 30 do Tool.invoke("calculator", { expression = tostring(i) .. " + 0" }) end
print("failing hook called " .. calls .. " times in 30 tool calls (breaker opened)")
assert(calls < 30)
