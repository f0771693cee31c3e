-- Building one decision out of several hook functions: Hook.sequential,
-- Hook.first_match, Hook.parallel and Hook.voting.
--
-- Shows: a sequential chain that rewrites the input step by step, a
-- first-match guard, a majority vote between three reviewers, and a
-- composite guarding a real tool call.
--
-- Run: llmspell run examples/lua/hooks/composites.lua

local function trim(ctx)
  local d = ctx.data
  d.expression = d.expression:gsub("^%s+", ""):gsub("%s+$", "")
  return { action = "modified", data = d }
end
local function no_spaces(ctx)
  local d = ctx.data
  d.expression = d.expression:gsub("%s+", "")
  return { action = "modified", data = d }
end
local function no_division(ctx)
  if ctx.data.expression:find("/") then
    return { action = "cancel", reason = "division is reviewed by hand" }
  end
end

-- Normalise, then check: the members run in order on the same data.
Hook.register("BeforeToolExecution",
  Hook.sequential({ trim, no_spaces, no_division }),
  { name = "calculator-policy", component = "calculator" })
print("normalised:", Tool.invoke("calculator", { expression = "  1 + 2  " }).result)
local ok, err = pcall(Tool.invoke, "calculator", { expression = "8 / 2" })
print("refused:", ok, tostring(err))

-- A vote: two of three reviewers must object to cancel.
local strict = function(ctx) if #ctx.data.text > 10 then return { action = "cancel", reason = "too long" } end end
local lenient = function() end
local picky = function(ctx) if ctx.data.text:find("!") then return { action = "cancel", reason = "shouting" } end end
Hook.register("custom:review", Hook.voting({ strict, lenient, picky }, { threshold = 0.6 }))
print("vote on 'hello':", Hook.fire("custom:review", { text = "hello" }).action)
print("vote on 'hello world!':", Hook.fire("custom:review", { text = "hello world!" }).action)

-- First match: the first member with an opinion decides.
Hook.register("custom:route", Hook.first_match({ lenient, picky, strict }))
print("first match:", Hook.fire("custom:route", { text = "hi!" }).reason)
