//! Host-system tools (category `system`): environment variables, processes,
//! network reachability and host metrics. `environment_reader` and
//! `process_executor` are `privileged`; `service_checker` and
//! `system_monitor` are `restricted`.

mod environment_reader;
mod process_executor;
mod service_checker;
mod system_monitor;

pub use environment_reader::EnvironmentReader;
pub use process_executor::{DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_PROCESS_TIMEOUT, ProcessExecutor};
pub use service_checker::ServiceChecker;
pub use system_monitor::SystemMonitor;
