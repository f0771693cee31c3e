//! Correlation traces from scripts and Rust: an agent calling a tool inside
//! a workflow step gives a tree of the right shape and timings, and a hook
//! that cancels is found by the analysis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, lua, lua_err, runtime, runtime_with};
use llmspell_core::CorrelationId;
use llmspell_hooks::trace::SpanOutcome;

const PIPELINE: &str = r#"
    local pricer = Agent.create({ name = "pricer", handler = function(input, agent)
        local net = agent:invoke_tool("calculator", { expression = "q * p",
            variables = { q = input.qty, p = input.price } }).result
        -- A call the guard refuses: the agent carries on without it.
        local ok = pcall(agent.invoke_tool, agent, "calculator", { expression = "1/0" })
        assert(not ok, "the guard refused the call")
        return { net = net }
    end })
    Hook.register("BeforeToolExecution", function(ctx)
        if ctx.data.expression == "1/0" then
            return { action = "cancel", reason = "no division by zero" }
        end
    end, { name = "guard" })
    Hook.register("BeforeToolExecution", function(ctx)
        llmspell.sleep(20)
    end, { name = "slow_audit", component = "calculator" })
    local order = Workflow.sequential({ name = "order", steps = {
        { name = "price", agent = "pricer" },
    } })
    local out = order:execute({ qty = 3, price = 5 }, { correlation_id = "order-1" })
"#;

#[test]
fn a_workflow_step_calling_an_agent_calling_a_tool_is_one_tree() {
    let rt = runtime_with(|c| c.traces = 16);
    lua(&rt, PIPELINE);
    let trace = rt
        .trace(&CorrelationId::new("order-1").unwrap())
        .unwrap()
        .expect("the trace is kept");
    assert_eq!(trace.id.to_string(), "order-1");
    let labels: Vec<String> = trace.spans.iter().map(|s| s.label()).collect();
    // workflow → step → agent → two tool calls
    let root = trace.roots().collect::<Vec<_>>();
    assert_eq!(root.len(), 1, "{labels:?}");
    assert_eq!(root[0].label(), "workflow:order");
    let step = trace.children(root[0].id).collect::<Vec<_>>();
    assert_eq!(step.len(), 1, "{labels:?}");
    assert_eq!(step[0].label(), "workflow:order.step.price");
    let agent = trace.children(step[0].id).collect::<Vec<_>>();
    assert_eq!(agent.len(), 1, "{labels:?}");
    assert_eq!(agent[0].label(), "agent:pricer");
    let tools = trace.children(agent[0].id).collect::<Vec<_>>();
    assert_eq!(tools.len(), 2, "{labels:?}");
    assert!(tools.iter().all(|t| t.label() == "tool:calculator"));
    assert_eq!(tools[0].outcome, SpanOutcome::Ok);
    assert_eq!(tools[1].outcome, SpanOutcome::Cancelled);
    assert_eq!(root[0].outcome, SpanOutcome::Ok);

    // Timings: each child lies inside its parent; the slow hook's 20 ms
    // is inside the first tool call and everything above it.
    for s in &trace.spans {
        if let Some(p) = s.parent.and_then(|p| trace.span(p)) {
            assert!(
                s.start >= p.start,
                "{} starts before {}",
                s.label(),
                p.label()
            );
            assert!(
                s.end() <= p.end() + chrono::Duration::microseconds(50),
                "{} ends after {}",
                s.label(),
                p.label()
            );
        }
    }
    assert!(tools[0].duration_us >= 20_000, "{}", tools[0].duration_us);
    assert!(root[0].duration_us >= tools[0].duration_us);
    let slow = tools[0]
        .hooks
        .iter()
        .find(|h| &*h.hook == "slow_audit")
        .expect("the slow hook's firing is inside the tool call");
    assert!(slow.latency_us >= 20_000);
    assert_eq!(slow.point, "BeforeToolExecution");
    assert_eq!(slow.action.as_deref(), Some("continue"));

    let analysis = trace.analyse(3);
    let path: Vec<&str> = analysis
        .critical_path
        .iter()
        .map(|p| p.label.as_str())
        .collect();
    assert_eq!(
        &path[..4],
        [
            "workflow:order",
            "workflow:order.step.price",
            "agent:pricer",
            "tool:calculator"
        ]
    );
    assert_eq!(analysis.slowest_operations[0].label, "tool:calculator");
    assert!(analysis.slowest_operations[0].share > 0.3);
    assert_eq!(analysis.slowest_hooks[0].hook, "slow_audit");
    let cancels: Vec<_> = analysis
        .decisions
        .iter()
        .filter(|d| d.action.as_deref() == Some("cancel"))
        .collect();
    assert_eq!(cancels.len(), 1, "{:?}", analysis.decisions);
    assert_eq!(cancels[0].hook, "guard");
    assert_eq!(cancels[0].detail.as_deref(), Some("no division by zero"));
    assert_eq!(cancels[0].operation, "tool:calculator");
    let text = format!("{}{}", trace.render(), analysis.render());
    assert!(text.contains("guard → cancel"), "{text}");
    assert!(text.contains("critical path: workflow:order"), "{text}");
}

#[test]
fn scripts_query_traces_in_lua_and_js() {
    let rt = runtime_with(|c| c.traces = 16);
    lua(
        &rt,
        &format!(
            "{PIPELINE}
        local t = Trace.get('order-1')
        assert(t and t.id == 'order-1' and #t.spans == 5 and t.complete, 'trace')
        -- Any operation's correlation id finds the same trace.
        local tool_corr
        for _, s in ipairs(t.spans) do
            if s.component == 'calculator' then tool_corr = s.correlation_id end
        end
        assert(Trace.get(tool_corr).id == 'order-1')
        local a = Trace.analyse('order-1', {{ top = 2 }})
        assert(#a.slowest_operations == 2)
        local found = false
        for _, d in ipairs(a.decisions) do
            if d.hook == 'guard' and d.action == 'cancel' then found = true end
        end
        assert(found, 'the cancel is among the decisions')
        assert(Trace.render('order-1'):find('critical path'))
        assert(Trace.get('no-such-trace') == nil)
        assert(Trace.recent(5)[1].id == 'order-1')
    "
        ),
    );
    js(
        &rt,
        r#"
        (async () => {
            const t = await Trace.get("order-1");
            if (!t || t.spans.length !== 5) throw new Error("trace");
            const a = await Trace.analyse("order-1");
            if (!a.decisions.some((d) => d.hook === "guard" && d.action === "cancel")) {
                throw new Error("the cancel is among the decisions");
            }
            if (Trace.recent(1)[0].id !== "order-1") throw new Error("recent");
        })();
    "#,
    );
    let e = lua_err(&rt, "Trace.analyse('order-1', { tops = 1 })");
    assert!(e.contains("did you mean `top`"), "{e}");
    let e = lua_err(&rt, "Trace.get(42)");
    assert!(e.contains("Trace.get: argument 1"), "{e}");
}

#[test]
fn tracing_is_off_by_default_and_traces_persist_as_events() {
    // Off: nothing kept, Trace.recent is empty.
    let rt = runtime();
    lua(
        &rt,
        "Tool.invoke('calculator', { expression = '1+1' }, { correlation_id = 'c-1' })
         assert(Trace.get('c-1') == nil and #Trace.recent() == 0)",
    );
    // On, with spans persisted: a new runtime over the same store finds the
    // trace from the events.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    {
        let rt = runtime_with(|c| {
            c.traces = 4;
            c.storage = llmspell_bridge::StorageChoice::Sled(db.clone());
            c.persist = vec!["trace.**".into()];
        });
        lua(&rt, PIPELINE);
        rt.shutdown().unwrap();
    }
    let rt = runtime_with(|c| {
        c.storage = llmspell_bridge::StorageChoice::Sled(db.clone());
    });
    let trace = rt
        .trace(&CorrelationId::new("order-1").unwrap())
        .unwrap()
        .expect("rebuilt from the persisted spans");
    assert_eq!(trace.spans.len(), 5);
    assert_eq!(trace.roots().next().unwrap().label(), "workflow:order");
    assert!(trace.analyse(5).decisions.iter().any(|d| d.hook == "guard"));
}
