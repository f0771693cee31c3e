#![allow(clippy::unwrap_used, clippy::expect_used)]
use llmspell_bridge::{RuntimeConfig, ScriptRuntime};
use llmspell_core::Language;

#[test]
fn smoke() {
    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    rt.run_source(Language::Lua, "smoke.lua", r#"
        local seen = {}
        Hook.register("BeforeToolExecution", function(ctx)
            seen[#seen + 1] = ctx.component.name
            if ctx.data.expression == "1/0" then return { action = "replace", value = { result = 0 } } end
            return nil
        end, { name = "watch" })
        local out = Tool.invoke("calculator", { expression = "2 + 2 * x", variables = { x = 3 } })
        assert(out.result == 8, "got " .. tostring(out.result))
        assert(math.type(out.result) == "integer")
        local z = Tool.invoke("calculator", { expression = "1/0" })
        assert(z.result == 0)
        assert(#seen == 2 and seen[1] == "calculator")
        count = 0
        Event.subscribe("demo.*", function(ev) count = count + ev.data.n end)
        for i = 1, 10 do Event.publish("demo.tick", { n = i }) end
    "#).unwrap();
    assert!(rt.wait_quiescent(Some(std::time::Duration::from_secs(5))));
    rt.run_source(
        Language::Lua,
        "check.lua",
        "assert(count == 55, 'count ' .. tostring(count))",
    )
    .unwrap();
    let err = rt
        .run_source(Language::Lua, "bad.lua", "local x = 1\nerror('boom')")
        .unwrap_err();
    assert_eq!(err.to_string(), "bad.lua:2: boom");
    let err = rt
        .run_source(
            Language::Lua,
            "bad2.lua",
            "local x = 1\nTool.invoke('nope', {})",
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("bad2.lua:2: "), "{err}");
}
