//! Lua and JavaScript in one runtime: events both ways under load, in
//! order and without loss; hooks of one language changing calls made by
//! the other; `language` and correlation ids across the hop; re-entrancy
//! from callbacks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, lua, runtime, settle};

const JS_ASSERT: &str = "const assert = (c, m) => { if (!c) throw new Error(m || ('assertion failed ' + new Error().stack.split('\\n')[1].trim())); };\n";

fn run_js(rt: &llmspell_bridge::ScriptRuntime, src: &str) {
    js(rt, &format!("{JS_ASSERT}{src}"));
}

#[test]
fn lua_events_reach_js_subscribers_in_order_without_loss_and_back() {
    let rt = runtime();
    run_js(
        &rt,
        r#"
        globalThis.fromLua = [];
        Event.subscribe("load.lua.*", (ev) => { fromLua.push([ev.data.i, ev.language]); }, { capacity: 5000 });
        "#,
    );
    lua(
        &rt,
        r#"
        from_js = {}
        Event.subscribe("load.js.*", function(ev) from_js[#from_js + 1] = { ev.data.i, ev.language } end, { capacity = 5000 })
        for i = 1, 2000 do Event.publish("load.lua.n", { i = i }) end
        "#,
    );
    run_js(
        &rt,
        "for (let i = 1; i <= 2000; i++) await Event.publish('load.js.n', { i });",
    );
    settle(&rt);
    run_js(
        &rt,
        r#"
        assert(fromLua.length === 2000, "received " + fromLua.length);
        for (let k = 0; k < 2000; k++) {
            assert(fromLua[k][0] === k + 1, "out of order at " + k + ": " + fromLua[k][0]);
            assert(fromLua[k][1] === "lua");
        }
        "#,
    );
    lua(
        &rt,
        r#"
        assert(#from_js == 2000, "received " .. #from_js)
        for k = 1, 2000 do
            assert(from_js[k][1] == k, "out of order at " .. k)
            assert(math.type(from_js[k][1]) == "integer", "a JS integer arrived as a float")
            assert(from_js[k][2] == "javascript")
        end
        "#,
    );
}

#[test]
fn request_reply_across_languages_keeps_correlation_ids() {
    let rt = runtime();
    run_js(
        &rt,
        r#"
        Event.subscribe("rpc.request", async (ev) => {
            const out = await Tool.invoke("calculator", { expression: ev.data.expr });
            await Event.publish("rpc.reply", { result: out.result, saw: ev.language },
                { correlation_id: ev.correlation_id, parent_id: ev.id });
        });
        "#,
    );
    lua(
        &rt,
        r#"
        local replies = Event.subscribe("rpc.reply")
        for i = 1, 100 do
            local cid = Tool.invoke("uuid_generator", { operation = "generate", version = "v4" }).uuid
            local id = Event.publish("rpc.request", { expr = i .. " * 2" }, { correlation_id = cid })
            local r = Event.receive(replies, 2000)
            assert(r, "no reply for request " .. i)
            assert(r.data.result == i * 2 and r.data.saw == "lua", "bad reply " .. i)
            assert(r.correlation_id == cid, "correlation id lost")
            assert(r.parent_id == id, "parent id lost")
            assert(r.language == "javascript")
        end
        "#,
    );
}

#[test]
fn hooks_of_one_language_change_tool_calls_made_by_the_other() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        lua_saw = {}
        Hook.register("BeforeToolExecution", function(ctx)
            lua_saw[#lua_saw + 1] = ctx.language .. ":" .. ctx.correlation_id
            if ctx.data.expression == "2 * 3" then
                return { action = "modified", data = { expression = "2 * 30" } }
            end
        end, { name = "lua-policy", component = "calculator" })
        "#,
    );
    run_js(
        &rt,
        r#"
        globalThis.jsSaw = [];
        Hook.register("AfterToolExecution", (ctx) => {
            jsSaw.push(ctx.language + ":" + ctx.correlation_id);
            if (ctx.data.result === 10) return { action: "replace", value: { result: 11, by: "js" } };
        }, { name: "js-policy", component: "calculator" });
        const done = Event.subscribe("tool.calculator.completed");
        const out = await Tool.invoke("calculator", { expression: "2 * 3" });
        assert(out.result === 60, "the Lua hook did not modify the JS call: " + JSON.stringify(out));
        const ev = await Event.receive(done, 1000);
        assert(ev && ev.language === "javascript", JSON.stringify(ev));
        globalThis.jsCorrelation = ev.correlation_id;
        "#,
    );
    lua(
        &rt,
        r#"
        local out = Tool.invoke("calculator", { expression = "5 + 5" })
        assert(out.result == 11 and out.by == "js", "the JS hook did not replace the Lua call")
        assert(lua_saw[1]:sub(1, 11) == "javascript:", lua_saw[1])
        assert(lua_saw[2]:sub(1, 4) == "lua:", lua_saw[2])
        "#,
    );
    run_js(
        &rt,
        r#"
        assert(jsSaw[0] === "javascript:" + jsCorrelation, jsSaw[0] + " vs " + jsCorrelation);
        assert(jsSaw[1].startsWith("lua:"), jsSaw[1]);
        "#,
    );
}

#[test]
fn callbacks_reenter_across_engines() {
    let rt = runtime();
    // A JS callback invokes a Lua-defined tool whose Lua hook publishes an
    // event a JS subscriber receives.
    lua(
        &rt,
        r#"
        Tool.register({ name = "lua_upper", handler = function(p) return { text = string.upper(p.text) } end })
        Hook.register("AfterToolExecution", function(ctx)
            Event.publish("audit.tool", { tool = ctx.component.name, lang = ctx.language })
        end, { component = "lua_upper" })
        "#,
    );
    run_js(
        &rt,
        r#"
        globalThis.results = [];
        globalThis.audits = [];
        Event.subscribe("audit.tool", (ev) => { audits.push(ev.data.lang + "/" + ev.language); });
        Event.subscribe("work.item", async (ev) => {
            const out = await Tool.invoke("lua_upper", { text: ev.data.text });
            results.push(out.text);
        });
        "#,
    );
    lua(
        &rt,
        r#"for _, w in ipairs({ "a", "b", "c" }) do Event.publish("work.item", { text = w }) end"#,
    );
    settle(&rt);
    run_js(
        &rt,
        r#"
        assert(results.join(",") === "A,B,C", results.join(","));
        assert(audits.length === 3 && audits.every((a) => a === "javascript/lua"), audits.join(","));
        "#,
    );
}

#[test]
fn a_slow_or_failing_hook_of_the_other_language_is_contained() {
    let rt = common::runtime_with(|c| c.callback_timeout = std::time::Duration::from_millis(200));
    lua(
        &rt,
        r#"
        Hook.register("BeforeToolExecution", function() while true do end end, { name = "lua-spinner", component = "calculator" })
        Hook.register("BeforeToolExecution", function() error("lua hook broke") end, { name = "lua-broken", component = "calculator" })
        "#,
    );
    run_js(
        &rt,
        r#"
        const t = Date.now();
        const out = await Tool.invoke("calculator", { expression: "7 * 6" });
        assert(out.result === 42 && Date.now() - t < 3000, "took " + (Date.now() - t) + " ms");
        "#,
    );
}
