// Shared hooks, part 2 (JavaScript): calls steered by a Lua hook, and JS
// hooks that steer calls made from Lua.
//
// Shows: a calculator call from JS whose input the Lua hook in policy.lua
// modifies (it adds `vat`); a JS hook that observes every tool call and
// prints ctx.language; and a JS hook that replaces uuid_generator's output
// for calls started from Lua (report.lua checks the replacement).
//
// Run: llmspell run examples/cross-language/shared_hooks/policy.lua \
//        examples/cross-language/shared_hooks/app.js examples/cross-language/shared_hooks/report.lua

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };

// Observe every completed tool call, whoever made it.
Hook.register("AfterToolExecution", (ctx) => {
  console.log(`[js hook] ${ctx.component.name} finished, started from ${ctx.language}: ${JSON.stringify(ctx.data)}`);
}, { name: "js-observer", priority: "lowest" });

// Deterministic ids for Lua callers: skip the tool and hand back a fixed value.
Hook.register("BeforeToolExecution", (ctx) => {
  if (ctx.language === "lua") {
    return { action: "replace", value: { uuid: "00000000-0000-4000-8000-000000000001", replaced_by: "javascript" } };
  }
}, { name: "fixed-ids", component: "uuid_generator" });

// The Lua policy adds the missing `vat` variable to this call.
const gross = await Tool.invoke("calculator", { expression: "price * (1 + vat)", variables: { price: 50 } });
console.log(`[js] gross price from JS: ${gross.result}`);
assert(Math.abs(gross.result - 60) < 1e-9, `the Lua hook supplied vat = 0.2, got ${gross.result}`);

// A JS call to uuid_generator is not replaced: only Lua callers get fixed ids.
const own = await Tool.invoke("uuid_generator", { operation: "generate" });
assert(own.replaced_by === undefined && own.uuid !== "00000000-0000-4000-8000-000000000001", "JS gets a real id");

const hooks = Hook.list({ point: "BeforeToolExecution" });
console.log(`[js] BeforeToolExecution hooks: ${hooks.map((h) => `${h.name} (${h.language})`).join(", ")}`);
assert(hooks.some((h) => h.language === "lua") && hooks.some((h) => h.language === "javascript"), "both languages");
