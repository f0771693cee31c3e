//! MetricsHook: counts, errors and latency per point and component, and the
//! Prometheus text format.

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::Error;
use llmspell_hooks::HookPoint;
use llmspell_hooks::builtin::MetricsHook;
use serde_json::json;

use crate::fixture::Fixture;

fn with_metrics(f: Fixture, m: &Arc<MetricsHook>) -> Fixture {
    f.hook(HookPoint::BeforeToolExecution, m.clone())
        .hook(HookPoint::AfterToolExecution, m.clone())
        .hook(HookPoint::ToolError, m.clone())
}

#[tokio::test]
async fn counts_errors_and_latency_per_point_and_component() {
    let m = Arc::new(MetricsHook::builder().build().unwrap());
    let f = with_metrics(
        Fixture::tool("calc").behaviour(|call, _| {
            std::thread::sleep(Duration::from_millis(5));
            if call.input["fail"] == true {
                Err(Error::execution("tool:calc", "bad"))
            } else {
                Ok(json!(1))
            }
        }),
        &m,
    );
    for fail in [false, false, false, true] {
        let _ = f.run(json!({ "fail": fail })).await;
    }
    let s = m.snapshot();
    let before = s.get(&HookPoint::BeforeToolExecution, "calc").unwrap();
    assert_eq!((before.calls, before.errors), (4, 0));
    assert!(before.latency.is_none());
    let after = s.get(&HookPoint::AfterToolExecution, "calc").unwrap();
    assert_eq!((after.calls, after.errors), (3, 0));
    let lat = after.latency.unwrap();
    assert_eq!(lat.count, 3);
    assert!(lat.p50 >= Duration::from_millis(5), "{lat:?}");
    assert!(lat.p99 >= lat.p50 && lat.max >= lat.p99 && lat.sum >= Duration::from_millis(15));
    let err = s.get(&HookPoint::ToolError, "calc").unwrap();
    assert_eq!((err.calls, err.errors), (1, 1));
    assert_eq!(err.latency.unwrap().count, 1);
}

#[tokio::test]
async fn prometheus_text_has_help_type_escaped_labels_and_summaries() {
    let m = Arc::new(
        MetricsHook::builder()
            .namespace("app")
            .const_label("host", "h\"1")
            .build()
            .unwrap(),
    );
    let f = with_metrics(Fixture::tool("we\"ird\\name\nx"), &m);
    f.run(json!({})).await.unwrap();
    f.run(json!({})).await.unwrap();
    let text = m.export_prometheus();
    let labels = r#"point="AfterToolExecution",component_type="tool",component="we\"ird\\name\nx",host="h\"1""#;
    for want in [
        "# HELP app_hook_calls_total ",
        "# TYPE app_hook_calls_total counter",
        "# TYPE app_operation_errors_total counter",
        "# TYPE app_operation_duration_seconds summary",
        &format!("app_hook_calls_total{{{labels}}} 2"),
        &format!("app_operation_errors_total{{{labels}}} 0"),
        &format!("app_operation_duration_seconds_count{{{labels}}} 2"),
        &format!("app_operation_duration_seconds{{{labels},quantile=\"0.99\"}} "),
        &format!("app_operation_duration_seconds_sum{{{labels}}} "),
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // Every sample line is `name{labels} value` with a number value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name_labels, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(
            name_labels.starts_with("app_") && name_labels.ends_with('}'),
            "{line}"
        );
    }
    assert!(!text.contains('\r'));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("# TYPE")).count(),
        3,
        "one TYPE per family"
    );
}
