//! `Hook.sequential`, `Hook.first_match`, `Hook.parallel` and `Hook.voting`
//! from Lua and JavaScript: composites registered like functions decide
//! tool calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, lua, lua_err, runtime};

#[test]
fn lua_composites_combine_their_members() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local function add(n)
            return function(ctx)
                local d = ctx.data
                d.text = d.text .. n
                return { action = "modified", data = d }
            end
        end
        local cancel = function() return { action = "cancel", reason = "no" } end
        local go = function() end

        -- Sequential: each member sees the data the one before left.
        local h = Hook.register("custom:seq", Hook.sequential({ add("a"), add("b") }), { name = "seq" })
        assert(Hook.fire("custom:seq", { text = "" }).data.text == "ab")
        assert(Hook.list("custom:seq")[1].name == "seq")
        h:unregister()

        -- First match: the first result that is not continue wins.
        Hook.register("custom:first", Hook.first_match({ go, cancel, add("x") }))
        assert(Hook.fire("custom:first", { text = "" }).action == "cancel")

        -- Voting: two of three cancel at threshold 0.6.
        Hook.register("custom:vote", Hook.voting({ cancel, cancel, go }, { threshold = 0.6 }))
        assert(Hook.fire("custom:vote", {}).action == "cancel")
        Hook.register("custom:vote2", Hook.voting({ cancel, go, go }, { threshold = 0.6 }))
        assert(Hook.fire("custom:vote2", {}).action == "continue")

        -- Parallel: cancel outranks modified; composites nest.
        Hook.register("custom:par", Hook.parallel({ add("p"), Hook.sequential({ go, cancel }) }))
        assert(Hook.fire("custom:par", { text = "" }).action == "cancel")

        -- On a real operation: a composite guard stops a tool call.
        Hook.register("BeforeToolExecution", Hook.first_match({ go, cancel }), { component = "calculator" })
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1+1" })
        assert(not ok and err.kind == "cancelled", tostring(err))
    "#,
    );
    let e = lua_err(&rt, "Hook.sequential({ 1 })");
    assert!(
        e.contains("hook 1 must be a function or a composite"),
        "{e}"
    );
    let e = lua_err(&rt, "Hook.voting({ function() end }, { threshold = 2 })");
    assert!(e.contains("(0, 1]"), "{e}");
    let e = lua_err(&rt, "Hook.parallel({})");
    assert!(e.contains("at least one"), "{e}");
    let e = lua_err(
        &rt,
        "Hook.sequential({ function() end }, { threshold = 0.5 })",
    );
    assert!(e.contains("only Hook.voting"), "{e}");
}

#[test]
fn js_composites_combine_their_members() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const add = (n) => (ctx) => ({ action: "modified", data: { text: ctx.data.text + n } });
        const cancel = () => ({ action: "cancel", reason: "no" });
        const go = () => undefined;
        Hook.register("custom:seq", Hook.sequential([add("a"), add("b")]));
        const r = await Hook.fire("custom:seq", { text: "" });
        if (r.data.text !== "ab") throw new Error(JSON.stringify(r));
        Hook.register("custom:vote", Hook.voting([cancel, cancel, go], { threshold: 0.6 }));
        if ((await Hook.fire("custom:vote", {})).action !== "cancel") throw new Error("vote");
        Hook.register("custom:par", Hook.parallel([add("p"), Hook.first_match([go, cancel])]));
        if ((await Hook.fire("custom:par", { text: "" })).action !== "cancel") throw new Error("par");
    "#,
    );
    let e = js_err(&rt, "Hook.register('custom:x', Hook.sequential([1]))");
    assert!(
        e.contains("hook 1 must be a function or a composite"),
        "{e}"
    );
    let e = js_err(
        &rt,
        "Hook.register('custom:y', Hook.voting([() => {}], { threshold: 0 }))",
    );
    assert!(e.contains("(0, 1]"), "{e}");
}
