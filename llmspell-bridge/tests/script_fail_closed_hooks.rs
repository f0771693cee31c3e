//! The fail mode is a promise for script hooks too: a Lua or JavaScript hook
//! registered with `fail = "closed"` that errors, runs past its time limit,
//! returns an invalid result or whose breaker is open refuses the call every
//! time; it is never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, lua, runtime};

#[test]
fn a_closed_lua_hook_refuses_calls_on_every_failure_path_and_once_its_breaker_opens() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local calls, mode = 0, "error"
        Hook.register("BeforeToolExecution", function(ctx)
            calls = calls + 1
            if mode == "error" then error("policy down")
            elseif mode == "busy" then while true do end
            elseif mode == "bad" then return { action = "cancle" } end
        end, { name = "policy", fail = "closed", component = "calculator", timeout_ms = 50 })
        local function try()
            local ok, e = pcall(Tool.invoke, "calculator", { expression = "1 + 1" })
            assert(not ok, "the call went through with mode " .. mode)
            return tostring(e)
        end
        local e = try()
        assert(e:find("policy down") and e:find("fail%-closed"), e)
        mode = "busy"
        e = try()
        assert(e:find("policy") and e:find("time limit"), e)
        mode = "bad"
        e = try()
        assert(e:find("unknown action \"cancle\""), e)
        mode = "error"
        for _ = 1, 20 do
            e = try()
            if e:find("breaker open since") then break end
        end
        assert(e:find("hook \"policy\"") and e:find("breaker open since"), e)
        local before = calls
        e = try()
        assert(e:find("breaker open since") and e:find("next probe in"), e)
        assert(calls == before, "the hook ran while its breaker was open")
        -- Other tools are not guarded by it.
        assert(Tool.invoke("text_manipulator", { operation = "uppercase", text = "ok" }).result == "OK")
    "#,
    );
}

#[test]
fn a_closed_js_hook_refuses_calls_on_every_failure_path_and_once_its_breaker_opens() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m); };
        let calls = 0, mode = "error";
        Hook.register("BeforeToolExecution", (ctx) => {
            calls++;
            if (mode === "error") throw new Error("policy down");
            if (mode === "busy") { while (true) {} }
            if (mode === "bad") return { action: "cancle" };
            if (mode === "rejected") return Promise.reject(new Error("async policy down"));
        }, { name: "policy", fail: "closed", component: "calculator", timeout_ms: 50 });
        const attempt = async () => {
            try {
                await Tool.invoke("calculator", { expression: "1 + 1" });
            } catch (e) {
                return String(e);
            }
            throw new Error("the call went through with mode " + mode);
        };
        let e = await attempt();
        assert(e.includes("policy down") && e.includes("fail-closed"), e);
        mode = "busy";
        e = await attempt();
        assert(e.includes("policy"), e);
        mode = "bad";
        e = await attempt();
        assert(e.includes('unknown action "cancle"'), e);
        mode = "rejected";
        e = await attempt();
        assert(e.includes("async policy down"), e);
        mode = "error";
        for (let i = 0; i < 20 && !e.includes("breaker open since"); i++) {
            e = await attempt();
        }
        assert(e.includes('hook "policy"') && e.includes("breaker open since"), e);
        const before = calls;
        e = await attempt();
        assert(e.includes("breaker open since") && e.includes("next probe in"), e);
        assert(calls === before, "the hook ran while its breaker was open");
        const out = await Tool.invoke("text_manipulator", { operation: "uppercase", text: "ok" });
        assert(out.result === "OK");
    "#,
    );
}
