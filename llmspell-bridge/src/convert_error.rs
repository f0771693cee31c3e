//! What the engines' conversion modules share: the nesting limit, and the
//! error of a value that cannot cross between a script and the host, with
//! where in the value it sits.

/// The deepest nesting converted either way, in every engine.
pub(crate) const MAX_DEPTH: usize = 64;

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

/// The error of the value at `path`.
pub(crate) fn err(path: &Path<'_>, message: impl Into<String>) -> ConvertError {
    ConvertError {
        path: path.render(),
        message: message.into(),
    }
}

/// ` (at <path>)` for a message about the value at the rendered `path`
/// (nothing at the top).
pub(crate) fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (at {path})")
    }
}

/// Where a value sits inside the value being converted, kept on the stack
/// and rendered (`.a.b[3]`) only when an error has to name it. Shared by
/// the engines' conversion modules.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, i64),
}

impl Path<'_> {
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(out);
                out.push('.');
                out.push_str(key);
            }
            Path::Index(parent, i) => {
                parent.render_into(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}
