// Misbehaving hooks cannot break the host or the script.
//
// Shows: a per-hook time limit (timeout_ms) that stops even a busy loop, a
// throwing hook with fail "open" (the call goes through) and fail "closed"
// (the call is refused with the hook's message), and an async hook whose
// Promise rejects. Every failure is reported (stderr, the EventHandlerError
// hook point, a `script.callback.failed` event) and the script carries on.
//
// Run: llmspell run examples/js/hooks/isolation.js

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };
const only = { component: "calculator" };

// Hook failures are reported through a hook point and an event too.
const reported = [];
Hook.register("EventHandlerError", (ctx) => { reported.push(ctx.data.message); });
const failures = Event.subscribe("script.callback.failed");

// 1. A hook stuck in a busy loop: stopped by its 50 ms limit; fail-open, so the call proceeds.
const spin = Hook.register("BeforeToolExecution", () => { for (;;) {} },
  { ...only, name: "stuck", timeout_ms: 50, fail: "open" });
const t0 = Date.now();
const out = await Tool.invoke("calculator", { expression: "6 * 7" });
console.log(`stuck hook stopped; the call returned ${out.result} after ${Date.now() - t0} ms`);
assert(out.result === 42, "fail-open lets the call through");
spin.unregister();

// 2. A throwing hook, fail-open: reported, then ignored.
const open = Hook.register("BeforeToolExecution", () => { throw new Error("metrics sink down"); },
  { ...only, name: "metrics", fail: "open" });
const out2 = await Tool.invoke("calculator", { expression: "1 + 1" });
console.log(`fail-open throwing hook: the call returned ${out2.result}`);
assert(out2.result === 2, "fail-open");
open.unregister();

// 3. The same hook, fail-closed: the call is refused with the hook's message.
const closed = Hook.register("BeforeToolExecution", () => { throw new Error("policy service unreachable"); },
  { ...only, name: "policy", fail: "closed" });
const err = await Tool.invoke("calculator", { expression: "1 + 1" }).then(() => null, (e) => e.message);
console.log(`fail-closed throwing hook refused the call: ${err}`);
assert(err && err.includes("policy service unreachable"), "fail-closed refuses with the message");
closed.unregister();

// 4. An async hook whose Promise rejects (fail-open by default): the call goes on.
const rejecting = Hook.register("AfterToolExecution", async () => {
  await llmspell.sleep(1);
  throw new Error("audit store rejected the write");
}, { ...only, name: "async-audit" });
const out4 = await Tool.invoke("calculator", { expression: "10 - 3" });
console.log(`rejecting async hook: the call returned ${out4.result}`);
assert(out4.result === 7, "a rejected hook Promise is a fail-open failure");
rejecting.unregister();

const events = [];
for (let ev = await Event.receive(failures, 50); ev; ev = await Event.receive(failures, 50)) events.push(ev.data);
console.log(`reported: ${reported.length} via EventHandlerError, ${events.length} script.callback.failed events`);
for (const m of reported) console.log(`  ${m}`);
assert(reported.length === 4 && events.length === 4, "every failure is reported");
assert(events.every((d) => d.language === "javascript"), "reports name the hook's language");
console.log("script still running: all four failures were isolated");
