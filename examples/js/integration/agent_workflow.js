// A basic agent with an async handler, used on its own and inside a workflow.
//
// Shows: Agent.create with an async JavaScript handler that calls tools with
// `await agent.invoke_tool(...)` (the tool call is a child of the agent
// call: its ctx.parent_id is the agent call's correlation id), the agent's
// state and pause/resume/terminate, and Workflow.sequential with a tool
// step, an agent step and an fn step, input functions reading
// state.outputs, and the result's outputs.
//
// Run: llmspell run examples/js/integration/agent_workflow.js

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };

const invoice = await Agent.create({
  name: "invoice_totaliser",
  type: "basic",
  parameters: { tax_rate: 0.2 },
  handler: async (input, agent) => {
    const vars = {};
    const terms = input.lines.map((line, i) => {
      vars[`q${i}`] = line.qty;
      vars[`p${i}`] = line.price;
      return `q${i} * p${i}`;
    });
    const net = (await agent.invoke_tool("calculator", { expression: terms.join(" + "), variables: vars })).result;
    const rate = agent.parameters().tax_rate;
    const gross = (await agent.invoke_tool("calculator",
      { expression: "net * (1 + r)", variables: { net, r: rate } })).result;
    return { net, gross, by: agent.name };
  },
});

// Tool calls made by the agent are children of the agent call.
const seen = {};
Hook.register("BeforeAgentExecution", (ctx) => { seen.agent = ctx.correlation_id; });
Hook.register("BeforeToolExecution", (ctx) => { seen.toolParent = ctx.parent_id; });

const out = await invoice.invoke({ lines: [{ qty: 3, price: 10 }, { qty: 1, price: 4.5 }] });
console.log(`agent ${out.by}: net ${out.net.toFixed(2)}, gross ${out.gross.toFixed(2)}, state ${invoice.state()}`);
assert(out.net === 34.5 && Math.abs(out.gross - 41.4) < 1e-9, `totals: ${JSON.stringify(out)}`);
assert(seen.agent && seen.agent === seen.toolParent, "the tool call's parent is the agent call");
assert(invoice.state() === "Ready", `state after a call: ${invoice.state()}`);

// A sequential workflow: a tool step, the agent, then a plain function.
const order = Workflow.sequential({
  name: "order",
  steps: [
    { name: "shipping", tool: "calculator",
      input: (state) => ({ expression: "5 + 0.5 * n", variables: { n: state.input.lines.length } }) },
    { name: "totals", agent: invoice,
      input: (state) => ({ lines: [...state.input.lines, { qty: 1, price: state.outputs.shipping.result }] }) },
    { name: "receipt",
      fn: (input, state) => `${state.input.customer}: ${state.outputs.totals.gross.toFixed(2)} due` },
  ],
});

const res = await order.execute({ customer: "ACME", lines: [{ qty: 2, price: 30 }, { qty: 1, price: 45 }] });
console.log(`workflow ${order.name}: success=${res.success}, steps ${Object.keys(res.outputs).join(" -> ")}`);
console.log(res.outputs.receipt);
assert(res.success, "the workflow succeeded");
assert(res.outputs.shipping.result === 6, "shipping is 5 + 0.5 * 2");
assert(res.outputs.totals.net === 111, `net with shipping: ${res.outputs.totals.net}`);
assert(res.outputs.receipt === "ACME: 133.20 due", `receipt: ${res.outputs.receipt}`);

await invoice.pause();
const refused = await invoice.invoke({ lines: [] }).then(() => false, () => true);
console.log(`paused agent refuses work: ${refused}`);
assert(refused && invoice.state() === "Paused", "a paused agent refuses work");
await invoice.resume();
await invoice.terminate();
console.log(`final state: ${invoice.state()}`);
assert(invoice.state() === "Terminated", "terminated");
