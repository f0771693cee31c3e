-- A basic agent that uses tools, observed and steered by hooks.
--
-- Shows: Agent.create with a Lua handler, agent:invoke_tool inside the
-- handler (the tool call is a child of the agent call: its parent_id is the
-- agent call's correlation id), the lifecycle (state, pause/resume/terminate), hooks on agent
-- execution that rewrite the input, and the agent's events.
--
-- Run: llmspell run examples/lua/integration/agent_with_tools.lua

local invoice = Agent.create({
  name = "invoice_totaliser",
  type = "basic",
  description = "adds up invoice lines with tax",
  parameters = { tax_rate = 0.2 },
  handler = function(input, agent)
    local rate = agent:parameters().tax_rate
    local expr, vars = {}, {}
    for i, line in ipairs(input.lines) do
      expr[#expr + 1] = "q" .. i .. " * p" .. i
      vars["q" .. i], vars["p" .. i] = line.qty, line.price
    end
    local net = agent:invoke_tool("calculator",
      { expression = table.concat(expr, " + "), variables = vars }).result
    local gross = agent:invoke_tool("calculator",
      { expression = "net * (1 + r)", variables = { net = net, r = rate } }).result
    return { net = net, gross = gross, currency = input.currency }
  end,
})

-- Every invoice defaults to EUR unless the caller says otherwise.
Hook.register("BeforeAgentExecution", function(ctx)
  if ctx.data.currency == nil then
    local input = ctx.data
    input.currency = "EUR"
    return { action = "modified", data = input }
  end
end, { component = "invoice_totaliser", name = "default-currency" })

-- Tool calls made by the agent are children of the agent call.
local correlation = {}
Hook.register("BeforeAgentExecution", function(ctx) correlation.agent = ctx.correlation_id end)
Hook.register("BeforeToolExecution", function(ctx) correlation.tool_parent = ctx.parent_id end)

local states = {}
Event.subscribe("agent.invoice_totaliser.state_changed", function(ev)
  table.insert(states, ev.data.from .. "->" .. ev.data.to)
end)

local out = invoice:invoke({ lines = { { qty = 3, price = 10 }, { qty = 1, price = 4.5 } } })
print(string.format("net %.2f, gross %.2f %s", out.net, out.gross, out.currency))
assert(out.net == 34.5 and math.abs(out.gross - 41.4) < 1e-9 and out.currency == "EUR")
assert(correlation.agent == correlation.tool_parent, "the tool call's parent is the agent call")

invoice:pause()
print("state after pause:", invoice:state())
local ok, err = pcall(function() return invoice:invoke({ lines = {} }) end)
print("a paused agent refuses work:", not ok)
invoice:resume()
invoice:terminate()
print("final state:", invoice:state())
for _, a in ipairs(Agent.list()) do print("agent", a.name, a.type, a.state) end

-- State changes arrive as events; let their callback catch up (bounded wait).
local waited = 0
while #states < 6 and waited < 2000 do llmspell.sleep(1); waited = waited + 1 end
print("transitions: " .. table.concat(states, ", "))
