-- The scripts of a project whose hooks come from llmspell.toml.
--
-- Shows: hooks declared in the configuration file at work on plain tool
-- calls: the security hook, a rate limit, caching, a Python policy, and a
-- script hook file; then the figures of the built-in hooks.
--
-- Run (from the repository root):
--   llmspell run --storage memory --config examples/projects/production/llmspell.toml \
--       examples/projects/production/main.lua

print("2 + 2 =", Tool.invoke("calculator", { expression = "2 + 2" }).result)

local ok, err = pcall(Tool.invoke, "text_manipulator", { operation = "uppercase", text = "hi" })
print("policy:", ok, err.kind, tostring(err))

Tool.invoke("text_manipulator", { operation = "lowercase", text = "CACHED" })
Tool.invoke("text_manipulator", { operation = "lowercase", text = "CACHED" })
print("cache hits:", Hook.report("caching").hits)

local bad_ok, bad = pcall(Tool.invoke, "text_manipulator", { operation = "trim", text = "rm -rf /" })
print("security:", bad_ok, tostring(bad))

print("tool calls seen by hooks/tag.lua:", tool_calls)
assert(Hook.report("caching").hits == 1 and tool_calls == 3)
