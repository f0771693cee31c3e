// Audit trail for tool calls, with a rewritten input and a refused call.
//
// Shows: BeforeToolExecution/AfterToolExecution hooks recording every tool
// call (ctx.component, ctx.correlation_id, ctx.language, ctx.data), a
// `modified` result rewriting a call's input, a `cancel` result refusing one
// (Tool.invoke's Promise rejects with the reason), and Hook.list by tag.
//
// Run: llmspell run examples/js/hooks/tool_audit.js

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };

const started = new Map(); // correlation id -> Date.now() at start
const audit = [];          // finished calls, in order

Hook.register("BeforeToolExecution", (ctx) => {
  started.set(ctx.correlation_id, Date.now());
}, { name: "audit-start", tags: ["audit"], priority: "highest" });

Hook.register("AfterToolExecution", (ctx) => {
  const t0 = started.get(ctx.correlation_id) ?? Date.now();
  started.delete(ctx.correlation_id);
  audit.push({ tool: ctx.component.name, language: ctx.language, ms: Date.now() - t0 });
}, { name: "audit-end", tags: ["audit"], priority: "lowest" });

// Rounding policy: every calculator expression is wrapped in round(...).
Hook.register("BeforeToolExecution", (ctx) => {
  if (!ctx.data.expression.startsWith("round(")) {
    return { action: "modified", data: { ...ctx.data, expression: `round(${ctx.data.expression})` } };
  }
}, { name: "round-results", component: "calculator" });

// Guard: the text tool may not shout.
Hook.register("BeforeToolExecution", (ctx) => {
  if (ctx.data.operation === "uppercase") return { action: "cancel", reason: "no shouting allowed" };
}, { name: "no-shouting", component: "text_manipulator" });

// Some ordinary work.
const sum = await Tool.invoke("calculator", { expression: "x / 3", variables: { x: 10 } });
const rev = await Tool.invoke("text_manipulator", { operation: "reverse", text: "hooks" });
let refused = null;
try {
  await Tool.invoke("text_manipulator", { operation: "uppercase", text: "hello" });
} catch (e) {
  refused = String(e.message ?? e);
}

console.log(`calculator x / 3 with x = 10 -> ${sum.result} (input rewritten to round(...))`);
console.log(`text_manipulator reverse -> ${JSON.stringify(rev)}`);
console.log(`uppercase refused: ${refused}`);
console.log("tool              language    ms");
for (const row of audit) console.log(`${row.tool.padEnd(17)} ${row.language.padEnd(11)} ${row.ms}`);
console.log(`audit hooks installed: ${Hook.list({ tag: "audit" }).length}`);

assert(sum.result === 3, `round(10 / 3) should be 3, got ${sum.result}`);
assert(rev.result === "skooh", "the text tool ran");
assert(refused !== null && refused.includes("no shouting allowed"), "the cancel reason reaches the caller");
assert(audit.length === 2, `two calls completed, ${audit.length} audited`);
assert(audit.every((r) => r.language === "javascript"), "calls made from JS say so");
assert(Hook.list({ tag: "audit" }).length === 2, "two audit hooks");
