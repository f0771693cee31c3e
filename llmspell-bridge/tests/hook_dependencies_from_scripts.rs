//! `after`, `before` and `optional` in `Hook.register` options from Lua and
//! JavaScript: the run order follows them, `Hook.list` shows it, a cycle is
//! refused naming the hooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, lua, lua_err, runtime};

#[test]
fn lua_hooks_run_in_dependency_order() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local order = {}
        local function rec(name) return function() table.insert(order, name) end end
        Hook.register("custom:req", rec("auth"), { name = "auth", priority = "low" })
        Hook.register("custom:req", rec("audit"), { name = "audit", priority = "highest", after = { "auth" } })
        Hook.register("custom:req", rec("rate"), { name = "rate", before = { "auth" } })
        Hook.register("custom:req", rec("trace"), { name = "trace", after = { "tracing" }, optional = true })
        Hook.fire("custom:req", {})
        assert(table.concat(order, ",") == "rate,trace,auth,audit", table.concat(order, ","))
        local names = {}
        for _, h in ipairs(Hook.list("custom:req")) do table.insert(names, h.name) end
        assert(table.concat(names, ",") == "rate,trace,auth,audit", table.concat(names, ","))
    "#,
    );
    let e = lua_err(
        &rt,
        r#"Hook.register("custom:req", function() end, { name = "loop", after = { "audit" }, before = { "rate" } })"#,
    );
    assert!(e.contains("cycle") && e.contains("\"loop\""), "{e}");
    let e = lua_err(
        &rt,
        r#"Hook.register("custom:req", function() end, { name = "x", after = { "nobody" } })"#,
    );
    assert!(e.contains("\"nobody\"") && e.contains("optional"), "{e}");
}

#[test]
fn js_hooks_take_the_same_options() {
    let rt = runtime();
    let e = js_err(
        &rt,
        r#"Hook.register("custom:req", () => {}, { name: "second", after: ["first"] });"#,
    );
    assert!(e.contains("\"first\""), "{e}");
    js(
        &rt,
        r#"
        const order = [];
        Hook.register("custom:req", () => { order.push("first"); }, { name: "first", priority: "lowest" });
        Hook.register("custom:req", () => { order.push("second"); }, { name: "second", priority: "highest", after: ["first"] });
        await Hook.fire("custom:req", {});
        if (order.join(",") !== "first,second") throw new Error(order.join(","));
        "#,
    );
}
