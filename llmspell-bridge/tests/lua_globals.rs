//! The small globals (`JSON`, `llmspell`, `Event.emit`) and the JSON ↔ Lua
//! conversion rules as scripts see them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{lua, lua_err, runtime};

#[test]
fn json_encode_decode_follow_the_conversion_rules() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local v = JSON.decode('{"n": 42, "f": 1.5, "list": [1, null, 3], "empty": [], "obj": {}}')
        assert(math.type(v.n) == "integer" and v.n == 42)
        assert(math.type(v.f) == "float")
        assert(#v.list == 3 and v.list[2] == JSON.null and v.list[3] == 3)
        -- empty arrays stay arrays on the way back, empty tables become objects
        local back = JSON.decode(JSON.encode(v))
        assert(JSON.encode(back.empty) == "[]", JSON.encode(back.empty))
        assert(JSON.encode({}) == "{}")
        assert(JSON.encode({ 1, 2, 3 }) == "[1,2,3]")
        assert(JSON.encode({ a = 1 }) == '{"a":1}')
        assert(JSON.encode(back.list) == "[1,null,3]", JSON.encode(back.list))
        assert(type(llmspell.version) == "string" and llmspell.version:match("^%d+%.%d+%.%d+"))
        -- Event.emit is Event.publish
        local sub = Event.subscribe("g.x")
        Event.emit("g.x", { ok = true })
        assert(Event.receive(sub, 1000).data.ok == true)
    "#,
    );
}

#[test]
fn values_that_are_not_json_are_named_with_their_path() {
    let rt = runtime();
    let e = lua_err(&rt, "JSON.encode({ a = { b = { print } } })");
    assert!(e.contains("function") && e.contains("a.b[1]"), "{e}");
    let e = lua_err(&rt, "local t = {} t.self = t JSON.encode(t)");
    assert!(e.contains("cyclic"), "{e}");
    let e = lua_err(&rt, "JSON.encode({ [1] = 'a', x = 'b' })");
    assert!(e.contains("mixes array items and named keys"), "{e}");
    let e = lua_err(&rt, "JSON.encode({ v = 0/0 })");
    assert!(e.contains("NaN"), "{e}");
    let e = lua_err(&rt, "JSON.decode('{not json')");
    assert!(e.contains("test.lua:1:"), "{e}");
    let deep = "local t = {} local c = t for i = 1, 100 do c.x = {} c = c.x end JSON.encode(t)";
    let e = lua_err(&rt, deep);
    assert!(e.contains("deeper than 64"), "{e}");
}

#[test]
fn arrays_with_gaps_say_so() {
    let rt = runtime();
    let e = lua_err(&rt, "JSON.encode({ 1, nil, 3 })");
    assert!(
        e.contains("array has a gap") && e.contains("JSON.null"),
        "{e}"
    );
    lua(
        &rt,
        "assert(JSON.encode({ 1, JSON.null, 3 }) == '[1,null,3]')",
    );
}
