-- A hook written in another language: Hook.command runs a program that
-- reads the hook context as JSON on stdin and answers with a decision.
--
-- Shows: a Python policy (inline here; normally a file such as
-- { "python3", "policy.py" }) that refuses some calls and rewrites others,
-- registered fail-closed so a broken policy stops the call instead of
-- letting it through.
--
-- Run: llmspell run examples/lua/hooks/command_hook.lua

local policy = [[
import json, sys
ctx = json.load(sys.stdin)
expr = ctx["data"].get("expression", "")
if "**" in expr:
    print(json.dumps({"action": "cancel", "reason": "powers are not allowed"}))
elif expr.startswith("double "):
    print(json.dumps({"action": "modified", "data": {"expression": "2 * (" + expr[7:] + ")"}}))
]]

Hook.command("BeforeToolExecution", { "python3", "-c", policy },
  { component = "calculator", fail = "closed", timeout_ms = 10000 })

print("double 21 =", Tool.invoke("calculator", { expression = "double 21" }).result)
local ok, err = pcall(Tool.invoke, "calculator", { expression = "2 ** 10" })
print("refused:", ok, err.kind, tostring(err))
print("plain:", Tool.invoke("calculator", { expression = "40 + 2" }).result)
