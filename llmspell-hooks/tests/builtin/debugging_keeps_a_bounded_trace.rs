//! DebuggingHook: a bounded ring buffer queried by correlation id.

use std::sync::Arc;

use llmspell_hooks::HookPoint;
use llmspell_hooks::builtin::DebuggingHook;
use serde_json::json;

use crate::fixture::Fixture;

#[tokio::test]
async fn captures_contexts_by_correlation_within_its_capacity() {
    let d = Arc::new(DebuggingHook::builder().capacity(5).build().unwrap());
    let f = Fixture::tool("search")
        .hook(HookPoint::BeforeToolExecution, d.clone())
        .hook(HookPoint::AfterToolExecution, d.clone());
    let mut ids = Vec::new();
    for i in 0..4 {
        let ctx = f
            .ctx(json!({ "q": i, "password": "pw" }))
            .with_metadata("tenant", "acme");
        ids.push(ctx.correlation_id.clone());
        f.run_ctx(ctx).await.unwrap();
    }
    assert_eq!(d.len(), 5, "8 captures, capacity 5");
    assert_eq!(d.dropped(), 3);

    let last = d.by_correlation(&ids[3]);
    assert_eq!(last.len(), 2);
    assert_eq!(last[0].point, "BeforeToolExecution");
    assert_eq!(last[0].data, json!({ "q": 3, "password": "[REDACTED]" }));
    assert_eq!(last[0].metadata["tenant"], "acme");
    assert_eq!(last[1].point, "AfterToolExecution");
    assert_eq!(
        last[1].data["echo"]["q"], 3,
        "the output is captured after the call"
    );
    assert!(last[1].elapsed.is_some());
    assert_eq!(last[0].component, "tool:search");
    assert!(
        d.by_correlation(&ids[0]).is_empty(),
        "the oldest were evicted"
    );

    let recent = d.recent(2);
    assert_eq!(recent, last);
    assert!(recent[0].sequence < recent[1].sequence);
    assert_eq!(d.recent(100).len(), 5);

    d.clear();
    assert!(d.is_empty() && d.recent(10).is_empty());
    f.run(json!({ "q": 9 })).await.unwrap();
    assert_eq!(d.len(), 2);
}
