-- Following one request through workflow → step → agent → tools, and asking
-- which hook slowed it down and which one stopped what.
--
-- Shows: correlation traces (Trace.get, Trace.analyse, Trace.render), a
-- chosen correlation id, the critical path, the slowest operations and
-- hooks with their share of the time, and the decisions hooks made.
--
-- Run: llmspell run examples/lua/integration/trace_analysis.lua
-- Then, from the same directory (the spans are persisted with the events):
--   llmspell trace quote-1001

-- An agent that prices a quote with two tool calls and tries a third that
-- a guard refuses.
local quoter = Agent.create({ name = "quoter", handler = function(input, agent)
  local net = agent:invoke_tool("calculator", {
    expression = "qty * unit", variables = { qty = input.qty, unit = input.unit } }).result
  local gross = agent:invoke_tool("calculator", {
    expression = "net * 1.2", variables = { net = net } }).result
  local ok = pcall(agent.invoke_tool, agent, "calculator", { expression = "gross / 0",
    variables = { gross = gross } })
  return { net = net, gross = gross, discount_refused = not ok }
end })

-- A guard that refuses divisions by zero, and an audit hook that is slow.
Hook.register("BeforeToolExecution", function(ctx)
  if ctx.data.expression:find("/ 0", 1, true) then
    return { action = "cancel", reason = "division by zero" }
  end
end, { name = "zero_guard", component = "calculator" })
Hook.register("AfterToolExecution", function(ctx)
  llmspell.sleep(15) -- stands for a call to an audit service
end, { name = "audit_log", component = "calculator" })

local pipeline = Workflow.sequential({ name = "quote", steps = {
  { name = "price", agent = "quoter" },
} })
local out = pipeline:execute({ qty = 4, unit = 12.5 }, { correlation_id = "quote-1001" })
assert(out.success, "the workflow ran")

local trace = Trace.get("quote-1001")
assert(trace and trace.complete, "the trace is kept")
print(Trace.render("quote-1001"))

-- The tree: workflow → step → agent → three tool calls.
local by_label = {}
for _, s in ipairs(trace.spans) do
  local label = s.component_type .. ":" .. s.component .. (s.part and ("." .. s.part) or "")
  by_label[label] = (by_label[label] or 0) + 1
end
assert(by_label["workflow:quote"] == 1 and by_label["workflow:quote.step.price"] == 1)
assert(by_label["agent:quoter"] == 1 and by_label["tool:calculator"] == 3, "the tree's shape")

local a = Trace.analyse("quote-1001", { top = 3 })
-- The audit hook ran twice (the refused call never reached After), 15 ms each:
-- it is the slowest hook and a large share of the whole request.
assert(a.slowest_hooks[1].hook == "audit_log", "the slowest hook is the audit hook")
assert(a.slowest_hooks[1].share > 0.2, "and it takes a real share of the time")
-- Exactly one decision: the guard's cancel, on the third tool call.
assert(#a.decisions == 1 and a.decisions[1].hook == "zero_guard"
  and a.decisions[1].action == "cancel" and a.decisions[1].detail == "division by zero",
  "the guard's cancel is found")
local path = {}
for _, step in ipairs(a.critical_path) do path[#path + 1] = step.label end
assert(path[1] == "workflow:quote" and path[3] == "agent:quoter", "the critical path")
print(string.format("the audit hook took %.0f%% of the request; %s refused: %s",
  a.slowest_hooks[1].share * 100, a.decisions[1].operation, a.decisions[1].detail))
