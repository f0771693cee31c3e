//! `system_monitor`: CPU, memory, disk, load and uptime of the host.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sysinfo::{Disks, System};

use crate::params::ParamsSpec;

/// Reports host metrics through `sysinfo`.
///
/// Parameters `{ metrics? }`, a list of `cpu`, `memory`, `disk`, `load`,
/// `uptime`, `system` (default: all). Output has one member per metric:
///
/// - `cpu`: `{ usage_percent, cores, physical_cores, per_core_percent }`
///   (usage is sampled over sysinfo's minimum interval, about 200 ms);
/// - `memory`: `{ total_bytes, used_bytes, available_bytes, swap_total_bytes, swap_used_bytes }`;
/// - `disk`: `[{ name, mount_point, file_system, total_bytes, available_bytes, removable }]`;
/// - `load`: `{ one, five, fifteen }` (zero where the platform has none);
/// - `uptime`: `{ seconds, boot_time }` (boot time in Unix seconds);
/// - `system`: `{ os, os_version, kernel, hostname, arch }`.
///
/// Security level `restricted`: it changes nothing, but it discloses facts
/// about the host (host name, mount points, load) that a sandboxed script
/// should not see by default. A metric the platform cannot provide is null.
#[derive(Debug, Clone)]
pub struct SystemMonitor {
    metadata: ComponentMetadata,
    /// Kept between calls so CPU usage is measured against the last sample.
    system: Arc<Mutex<Option<System>>>,
}

impl SystemMonitor {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "system_monitor",
                "Reports CPU, memory, disk, load, uptime and OS facts of the host",
            ),
            system: Arc::new(Mutex::new(None)),
        }
    }
}

impl Default for SystemMonitor {
    fn default() -> Self {
        Self::new()
    }
}

/// A metric to report.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Metric {
    Cpu,
    Memory,
    Disk,
    Load,
    Uptime,
    System,
}

const ALL: [Metric; 6] = [
    Metric::Cpu,
    Metric::Memory,
    Metric::Disk,
    Metric::Load,
    Metric::Uptime,
    Metric::System,
];

/// The parameters of `system_monitor`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The metrics to report: `cpu`, `memory`, `disk`, `load`, `uptime`,
    /// `system` (default: all of them).
    metrics: Option<Vec<Metric>>,
}

/// How `system_monitor` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::External {
        service: "system".to_owned(),
        message: format!("cannot read {what}: {e}"),
        retryable: false,
        source: None,
    }
}

impl SystemMonitor {
    fn collect(&self, metrics: &[Metric]) -> Result<Value> {
        let mut out = json!({});
        let needs_system = metrics
            .iter()
            .any(|m| matches!(m, Metric::Cpu | Metric::Memory));
        if needs_system {
            let mut guard = self
                .system
                .lock()
                .map_err(|_| unavailable("system metrics", "a previous reading panicked"))?;
            if guard.is_none() {
                let mut sys = System::new().map_err(|e| unavailable("system metrics", e))?;
                sys.refresh_cpu_usage();
                *guard = Some(sys);
                // CPU usage needs two samples some time apart.
                std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
            }
            if let Some(sys) = guard.as_mut() {
                if metrics.contains(&Metric::Cpu) {
                    sys.refresh_cpu_usage();
                    let per_core: Vec<f64> = sys
                        .cpus()
                        .iter()
                        .map(|c| round(f64::from(c.usage())))
                        .collect();
                    out["cpu"] = json!({
                        "usage_percent": round(f64::from(sys.global_cpu_usage())),
                        "cores": sys.cpus().len(),
                        "physical_cores": System::physical_core_count().ok(),
                        "per_core_percent": per_core,
                    });
                }
                if metrics.contains(&Metric::Memory) {
                    sys.refresh_memory();
                    out["memory"] = json!({
                        "total_bytes": sys.total_memory(),
                        "used_bytes": sys.used_memory(),
                        "available_bytes": sys.available_memory(),
                        "swap_total_bytes": sys.total_swap(),
                        "swap_used_bytes": sys.used_swap(),
                    });
                }
            }
        }
        if metrics.contains(&Metric::Disk) {
            let disks = Disks::new_with_refreshed_list().map_err(|e| unavailable("disks", e))?;
            let list: Vec<Value> = disks
                .iter()
                .map(|d| {
                    json!({
                        "name": d.name().to_string_lossy(),
                        "mount_point": d.mount_point().display().to_string(),
                        "file_system": d.file_system().to_string_lossy(),
                        "total_bytes": d.total_space(),
                        "available_bytes": d.available_space(),
                        "removable": d.is_removable(),
                    })
                })
                .collect();
            out["disk"] = Value::Array(list);
        }
        if metrics.contains(&Metric::Load) {
            out["load"] = match System::load_average() {
                Ok(l) => json!({ "one": l.one, "five": l.five, "fifteen": l.fifteen }),
                Err(_) => Value::Null,
            };
        }
        if metrics.contains(&Metric::Uptime) {
            out["uptime"] = json!({
                "seconds": System::uptime().ok(),
                "boot_time": System::boot_time().ok(),
            });
        }
        if metrics.contains(&Metric::System) {
            out["system"] = json!({
                "os": System::name().ok(),
                "os_version": System::os_version().ok(),
                "kernel": System::kernel_version().ok(),
                "hostname": System::host_name().ok(),
                "arch": System::cpu_arch(),
            });
        }
        Ok(out)
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[async_trait]
impl Tool for SystemMonitor {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::System
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "metrics": ["memory", "load"] }),
            json!({ "metrics": ["memory", "uptime"] }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "cpu": { "type": "object" },
                "memory": { "type": "object" },
                "disk": { "type": "array" },
                "load": { "type": ["object", "null"] },
                "uptime": { "type": "object" },
                "system": { "type": "object" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        let metrics = p.metrics.unwrap_or_else(|| ALL.to_vec());
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.collect(&metrics))
            .await
            .map_err(|e| {
                Error::execution("tool:system_monitor", format!("metrics task failed: {e}"))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_plausible_host_metrics() {
        let t = SystemMonitor::new();
        let out = t
            .execute(json!({}), &ExecutionContext::native())
            .await
            .unwrap();
        let mem = &out["memory"];
        let total = mem["total_bytes"].as_u64().unwrap();
        assert!(total > 0);
        assert!(mem["used_bytes"].as_u64().unwrap() <= total);
        assert!(out["cpu"]["cores"].as_u64().unwrap() >= 1);
        let usage = out["cpu"]["usage_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&usage), "{usage}");
        assert!(out["uptime"]["seconds"].as_u64().unwrap() > 0);
        assert!(
            out["system"]["arch"]
                .as_str()
                .is_some_and(|a| !a.is_empty())
        );
        assert!(out["disk"].is_array());
    }

    #[tokio::test]
    async fn only_requested_metrics_are_returned() {
        let t = SystemMonitor::new();
        let out = t
            .execute(
                json!({ "metrics": ["memory", "load"] }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["memory", "load"]);
        let err = t
            .execute(json!({ "metrics": ["gpu"] }), &ExecutionContext::native())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("`metrics[0]`") && err.to_string().contains("cpu"),
            "{err}"
        );
    }
}
