-- An agent process of the fleet_policy example: its tool calls pass the
-- policy process's hook (a remote hook, fail closed).
--
-- Run (see run.sh): llmspell run --nats URL --nats-remote-hook BeforeToolExecution:closed agent.lua

local out = Tool.invoke("calculator", { expression = "x * 2", variables = { x = 5000 } })
print("capped by the policy: " .. out.result)
local ok, err = pcall(Tool.invoke, "calculator", { expression = "666 * 2" }, { correlation_id = "job-1" })
print("refused: " .. tostring(not ok) .. " (" .. tostring(err) .. ")")
assert(out.result == 200 and not ok)
