//! `Hook.budget` and `Hook.component_stats` from Lua and JavaScript: a
//! component's hooks over their budget are refused, and their time is
//! accounted per component.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, lua, lua_err, runtime};

#[test]
fn lua_budgets_refuse_and_stats_account_per_component() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        -- A hook that spins 30 ms of CPU on every calculator call.
        Hook.register("BeforeToolExecution", function()
            local t = os.clock()
            while os.clock() - t < 0.03 do end
        end, { component = "calculator", name = "slow", timeout_ms = 10000 })
        assert(Hook.budget("calc*", { per_call_ms = 5, policy = "refuse", kind = "tool" }))
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1+1" })
        assert(not ok and err.kind == "resource_limit", tostring(err))
        -- Other tools are not held to it.
        Tool.invoke("text_manipulator", { operation = "trim", text = " x " })
        local calc
        for _, row in ipairs(Hook.component_stats()) do
            if row.name == "calculator" then calc = row end
        end
        assert(calc and calc.kind == "tool" and calc.over_budget == 1 and calc.hook_ns > 5000000)
        assert(Hook.budget("calc*", nil) == true)
        assert(Tool.invoke("calculator", { expression = "1+1" }).result == 2)
    "#,
    );
    let e = lua_err(
        &rt,
        "Hook.budget('x', { per_call_ms = 5, policy = 'drop' })",
    );
    assert!(e.contains("report, skip_fail_open, refuse"), "{e}");
    let e = lua_err(&rt, "Hook.budget('x', { per_cal_ms = 5 })");
    assert!(e.contains("did you mean `per_call_ms`"), "{e}");
}

#[test]
fn js_has_the_same_calls() {
    let rt = runtime();
    js(
        &rt,
        r#"
        if (Hook.budget("calculator", { per_call_ms: 50 }) !== true) throw new Error("budget");
        Hook.register("BeforeToolExecution", () => {}, { component: "calculator" });
        await Tool.invoke("calculator", { expression: "1+1" });
        const rows = Hook.component_stats();
        if (!rows.some((r) => r.name === "calculator" && r.calls === 1)) throw new Error(JSON.stringify(rows));
        "#,
    );
}
