-- An order pipeline built from the four workflow patterns.
--
-- Shows: Workflow.sequential with tool, agent, nested-workflow and
-- function steps; state passed to input functions (state.outputs);
-- Workflow.conditional routing; Workflow.loop over items; Workflow.parallel
-- fan-out; a BeforeWorkflowStage hook timing every step; retry and
-- on_error policies.
--
-- Run: llmspell run examples/lua/integration/order_pipeline.lua

local step_log = {}
Hook.register("AfterWorkflowStage", function(ctx)
  table.insert(step_log, ctx.metadata.workflow .. "/" .. (ctx.metadata.step or "?"))
end)

local pricing = Agent.create({ name = "pricer", handler = function(input)
  local discount = input.total >= 100 and 0.1 or 0
  return { total = input.total, discount = discount, due = input.total * (1 - discount) }
end })

-- Sum the order lines: a loop over the items, keeping a running total in vars.
local subtotal = Workflow.loop({
  name = "subtotal",
  items = function(state) return state.input.lines end,
  body = {
    { name = "line_total", tool = "calculator",
      input = function(state)
        return { expression = "q * p + acc",
                 variables = { q = state.item.qty, p = state.item.price,
                               acc = state.vars.acc and state.vars.acc.result or 0 } }
      end, save_as = "acc" },
  },
})

-- Route by size: big orders need a manual check.
local review = Workflow.conditional({
  name = "review",
  branches = {
    { name = "manual", when = function(state) return state.input.due > 500 end,
      steps = { { name = "flag", fn = function(input) return "needs a manual check" end } } },
  },
  default = { { name = "auto", fn = function(input) return "auto-approved" end } },
})

-- Notify two systems at once.
local notify = Workflow.parallel({
  name = "notify",
  max_concurrency = 2,
  branches = {
    { name = "email", steps = { { name = "send_email", fn = function(input) return "mailed " .. input.customer end } } },
    { name = "ledger", steps = { { name = "book", fn = function(input) return "booked " .. input.due end,
                                   retry = 3 } } },
  },
})

local order = Workflow.sequential({
  name = "order",
  steps = {
    { name = "sum", workflow = subtotal },
    { name = "price", agent = pricing,
      input = function(state) return { total = state.outputs.sum.state.vars.acc.result } end },
    { name = "check", workflow = review,
      input = function(state) return { due = state.outputs.price.due } end },
    { name = "tell", workflow = notify,
      input = function(state) return { customer = state.input.customer, due = state.outputs.price.due } end,
      on_error = "continue" },
    { name = "receipt", fn = function(input, state)
        return string.format("%s: %.2f due (%s)", state.input.customer,
          state.outputs.price.due, state.outputs.check.outputs.flag or state.outputs.check.outputs.auto)
      end },
  },
})

local res = order:execute({ customer = "ACME", lines = {
  { qty = 2, price = 30 }, { qty = 1, price = 45 }, { qty = 4, price = 2.5 } } })
print(res.outputs.receipt)
print(string.format("success=%s in %.2f ms", tostring(res.success), res.duration_ms))
print("steps completed: " .. table.concat(step_log, ", "))
assert(res.success and res.outputs.price.total == 115 and res.outputs.price.due == 103.5)

local big = order:execute({ customer = "Globex", lines = { { qty = 10, price = 99 } } })
print(big.outputs.receipt)
assert(big.outputs.check.branch == "manual")
