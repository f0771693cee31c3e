//! Component identity: what kind of thing runs, under which name.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ComponentType {
    /// A tool (calculator, file operations, ...).
    Tool,
    /// An agent.
    Agent,
    /// A workflow.
    Workflow,
    /// The host system itself (startup, shutdown, ...).
    System,
    /// Anything else, such as a custom hook point fired by hand.
    Custom,
}

impl ComponentType {
    /// The lowercase name used in events and scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentType::Tool => "tool",
            ComponentType::Agent => "agent",
            ComponentType::Workflow => "workflow",
            ComponentType::System => "system",
            ComponentType::Custom => "custom",
        }
    }
}

impl fmt::Display for ComponentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComponentType {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tool" => Ok(ComponentType::Tool),
            "agent" => Ok(ComponentType::Agent),
            "workflow" => Ok(ComponentType::Workflow),
            "system" => Ok(ComponentType::System),
            "custom" => Ok(ComponentType::Custom),
            other => Err(crate::Error::invalid_input(
                "component.type",
                format!(
                    "unknown component type {other:?}; valid: tool, agent, workflow, system, custom"
                ),
            )),
        }
    }
}

/// The identity of a component: its kind, its name and a unique id.
///
/// Names are how users refer to components (`"calculator"`); the id tells two
/// instances with the same name apart. Cloning is cheap (the name is shared).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentId {
    /// The kind of component.
    #[serde(rename = "type")]
    pub kind: ComponentType,
    /// The component's name.
    pub name: Arc<str>,
    /// A unique id for this instance.
    pub id: Uuid,
}

impl ComponentId {
    /// Creates an id with a fresh UUID v7.
    pub fn new(kind: ComponentType, name: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            name: name.into(),
            id: crate::clock::new_v7(),
        }
    }

    /// A tool id.
    pub fn tool(name: impl Into<Arc<str>>) -> Self {
        Self::new(ComponentType::Tool, name)
    }

    /// An agent id.
    pub fn agent(name: impl Into<Arc<str>>) -> Self {
        Self::new(ComponentType::Agent, name)
    }

    /// A workflow id.
    pub fn workflow(name: impl Into<Arc<str>>) -> Self {
        Self::new(ComponentType::Workflow, name)
    }

    /// The system component.
    pub fn system() -> Self {
        Self::new(ComponentType::System, "system")
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// What a component says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentMetadata {
    /// The component's identity.
    pub id: ComponentId,
    /// A one-line description for listings.
    pub description: String,
    /// The component's version.
    pub version: String,
}

impl ComponentMetadata {
    /// Metadata for a component of `kind`, version `0.1.0`.
    pub fn new(
        kind: ComponentType,
        name: impl Into<Arc<str>>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id: ComponentId::new(kind, name),
            description: description.into(),
            version: "0.1.0".to_owned(),
        }
    }

    /// Metadata for a tool.
    pub fn tool(name: impl Into<Arc<str>>, description: impl Into<String>) -> Self {
        Self::new(ComponentType::Tool, name, description)
    }

    /// Metadata for an agent.
    pub fn agent(name: impl Into<Arc<str>>, description: impl Into<String>) -> Self {
        Self::new(ComponentType::Agent, name, description)
    }

    /// Metadata for a workflow.
    pub fn workflow(name: impl Into<Arc<str>>, description: impl Into<String>) -> Self {
        Self::new(ComponentType::Workflow, name, description)
    }

    /// Sets the version.
    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.id.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_id_serialises_with_type_field() {
        let id = ComponentId::tool("calculator");
        let v = serde_json::to_value(&id).unwrap();
        assert_eq!(v["type"], "tool");
        assert_eq!(v["name"], "calculator");
        assert_eq!(v["id"].as_str().unwrap().len(), 36);
        let back: ComponentId = serde_json::from_value(v).unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "tool:calculator");
    }

    #[test]
    fn ids_are_unique_per_instance() {
        assert_ne!(ComponentId::agent("a").id, ComponentId::agent("a").id);
    }

    #[test]
    fn component_type_parse_rejects_unknown() {
        assert_eq!(
            "workflow".parse::<ComponentType>().unwrap(),
            ComponentType::Workflow
        );
        let err = "widget".parse::<ComponentType>().unwrap_err().to_string();
        assert!(err.contains("widget") && err.contains("tool"), "{err}");
    }
}
