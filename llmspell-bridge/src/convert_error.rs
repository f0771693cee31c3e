//! The error of a value that cannot cross between a script and the host,
//! shared by the engines' conversion modules.

/// A value that cannot cross the boundary, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConvertError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{} (at {})", self.message, self.path)
        }
    }
}
