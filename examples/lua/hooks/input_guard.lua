-- Guard rails on tool input.
--
-- Shows: a BeforeToolExecution hook that rejects calls (`cancel`, the caller
-- gets an error carrying the reason) and one that rewrites input
-- (`modified`), scoped to one tool with the `component` option.
--
-- Run: llmspell run examples/lua/hooks/input_guard.lua

-- Refuse any text operation on input that looks like a credential.
Hook.register("BeforeToolExecution", function(ctx)
  local text = ctx.data.text or ""
  if text:match("sk%-%w+") or text:lower():match("password") then
    return { action = "cancel", reason = "input looks like a secret; refusing to process it" }
  end
end, { name = "secret-guard", component = "text_manipulator", priority = "high" })

-- Normalise calculator input: strip whitespace runs, cap length.
Hook.register("BeforeToolExecution", function(ctx)
  local expr = ctx.data.expression
  if type(expr) == "string" then
    local clean = expr:gsub("%s+", " ")
    if #clean > 200 then
      return { action = "cancel", reason = "expression longer than 200 characters" }
    end
    if clean ~= expr then
      local params = ctx.data
      params.expression = clean
      return { action = "modified", data = params }
    end
  end
end, { name = "expr-normaliser", component = "calculator" })

local ok, err = pcall(Tool.invoke, "text_manipulator",
  { operation = "uppercase", text = "my key is sk-abc123" })
print("secret refused:", not ok, err)
assert(not ok and err:find("looks like a secret", 1, true))

local out = Tool.invoke("text_manipulator", { operation = "uppercase", text = "fine input" })
print("normal text:", out.result)

out = Tool.invoke("calculator", { expression = "1  +\t\t2   * 3" })
print("normalised expression result:", out.result)
assert(out.result == 7)

ok, err = pcall(Tool.invoke, "calculator", { expression = string.rep("1+", 150) .. "1" })
print("long expression refused:", not ok)
assert(not ok and err:find("longer than 200", 1, true))
