// The built-in hooks and composites from JavaScript: the same names and
// results as in Lua (Hook.use, Hook.report, Hook.sequential, ...).
//
// Shows: caching a script tool, a rate limit, a composite guard, and the
// hooks' reports (awaited: reports are host calls).
//
// Run: llmspell run examples/js/hooks/builtin_hooks.js

let runs = 0;
Tool.register({
  name: "lookup",
  description: "looks a word up (pretend this calls a slow service)",
  parameters: { type: "object", required: ["word"], properties: { word: { type: "string" } } },
  handler: async (p) => { runs += 1; return { word: p.word, length: p.word.length }; },
});

const cache = Hook.use("caching", { ttl_ms: 60000, component: "lookup" });
await Tool.invoke("lookup", { word: "spell" });
await Tool.invoke("lookup", { word: "spell" });
console.log("caching: tool ran", runs, "time(s); hits", (await cache.report()).hits);

Hook.use("rate_limit", { per_minute: 1, burst: 1, component: "calculator", mode: "cancel" });
await Tool.invoke("calculator", { expression: "6 * 7" });
try {
  await Tool.invoke("calculator", { expression: "6 * 7" });
} catch (e) {
  console.log("rate_limit:", e.kind, "limited", (await Hook.report("rate_limit")).limited);
}

const noEmpty = (ctx) => (ctx.data.word === "" ? { action: "cancel", reason: "empty word" } : undefined);
const lower = (ctx) => ({ action: "modified", data: { ...ctx.data, word: ctx.data.word.toLowerCase() } });
Hook.register("BeforeToolExecution", Hook.sequential([noEmpty, lower]), { component: "lookup" });
console.log("sequential:", (await Tool.invoke("lookup", { word: "LOUD" })).word);
try {
  await Tool.invoke("lookup", { word: "" });
} catch (e) {
  console.log("refused:", e.kind, e.message);
}
