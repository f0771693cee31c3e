//! File-system confinement: every path a tool touches must lie under one of a
//! set of configured root directories.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use llmspell_core::{Error, Result};

/// The directories file-system tools may touch, and the rules that keep them
/// there.
///
/// Every path a tool receives is resolved with [`FsSandbox::resolve`] before
/// any I/O happens:
///
/// - a relative path is taken relative to the first root;
/// - a path containing a `..` component is refused outright;
/// - the path (for one that exists) or its nearest existing ancestor (for one
///   to be created) is canonicalised, which resolves every symlink, and the
///   result must lie under a canonicalised root, so a symlink inside a root
///   that points outside it is refused;
/// - a dangling symlink is refused, since writing through it would create a
///   file wherever it points.
///
/// With no roots every path is refused. Roots are canonicalised when a path is
/// resolved, not when the sandbox is built, so a root may be created later.
/// Checks happen before the I/O, so a process that swaps a directory for a
/// symlink between the check and the use can still race the tool; the
/// sandbox guards against mistakes and hostile parameters, not against hostile
/// processes with write access to the roots.
///
/// # Examples
///
/// ```
/// use llmspell_tools::FsSandbox;
///
/// let dir = std::env::temp_dir();
/// let sandbox = FsSandbox::new([&dir]);
/// assert!(sandbox.resolve("notes.txt").is_ok());
/// assert!(sandbox.resolve("../escape.txt").is_err());
/// assert!(FsSandbox::deny_all().resolve("notes.txt").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsSandbox {
    roots: Arc<[PathBuf]>,
}

impl FsSandbox {
    /// A sandbox confined to `roots`. Relative roots are taken relative to
    /// the current directory at the time of this call.
    pub fn new<I, P>(roots: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let cwd = std::env::current_dir().unwrap_or_default();
        let roots = roots
            .into_iter()
            .map(|r| {
                let r = r.as_ref();
                if r.is_absolute() {
                    r.to_path_buf()
                } else {
                    cwd.join(r)
                }
            })
            .collect();
        Self { roots }
    }

    /// A sandbox with no roots: every path is refused.
    pub fn deny_all() -> Self {
        Self {
            roots: Arc::from(Vec::new()),
        }
    }

    /// The configured roots, as given (made absolute).
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Resolves `path` to a canonical absolute path under one of the roots.
    /// The path need not exist; if it does not, its nearest existing ancestor
    /// is checked instead.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] naming the path and the allowed roots when
    /// the path is outside them, uses `..`, crosses a symlink leading outside,
    /// or no roots are configured; [`Error::InvalidInput`] for an empty path.
    pub fn resolve(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let path = path.as_ref();
        let roots = self.canonical_roots(path)?;
        if path.as_os_str().is_empty() {
            return Err(Error::invalid_input("path", "expected a non-empty path"));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(self.violation(path, "parent-directory components (`..`) are not allowed"));
        }
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            match roots.first() {
                Some(first) => first.join(path),
                None => path.to_path_buf(),
            }
        };
        let resolved = self.canonicalize_lenient(path, &joined)?;
        if roots.iter().any(|root| resolved.starts_with(root)) {
            Ok(resolved)
        } else {
            Err(self.violation(path, "it resolves outside them"))
        }
    }

    /// Like [`resolve`](Self::resolve), but the path must exist.
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve), plus [`Error::NotFound`] (kind `"path"`)
    /// when nothing exists there.
    pub fn resolve_existing(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let resolved = self.resolve(path.as_ref())?;
        if resolved.symlink_metadata().is_ok() {
            Ok(resolved)
        } else {
            Err(Error::not_found(
                "path",
                path.as_ref().display().to_string(),
            ))
        }
    }

    /// Resolves `path` for operations on the directory entry itself
    /// (deleting, moving, checking existence): the parent directory is
    /// resolved as by [`resolve`](Self::resolve), the final component is not
    /// followed. A symlink inside a root is then the link itself, wherever
    /// it points.
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve).
    pub fn resolve_entry(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let path = path.as_ref();
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return self.resolve(path);
        };
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(self.violation(path, "parent-directory components (`..`) are not allowed"));
        }
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let dir = if parent == Path::new(".") && !path.is_absolute() {
            self.canonical_roots(path)?
                .into_iter()
                .next()
                .ok_or_else(|| self.violation(path, "no root exists"))?
        } else {
            self.resolve(parent)?
        };
        Ok(dir.join(name))
    }

    /// Whether `path`, already canonical, lies under one of the roots.
    pub fn contains(&self, canonical: &Path) -> bool {
        self.roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .any(|r| canonical.starts_with(r))
    }

    /// Shows `path` relative to the root containing it (for outputs), or the
    /// full path when it lies under no root.
    pub fn display_relative(&self, canonical: &Path) -> String {
        for root in self.roots.iter().filter_map(|r| r.canonicalize().ok()) {
            if let Ok(rel) = canonical.strip_prefix(&root) {
                let s = rel.to_string_lossy().into_owned();
                return if s.is_empty() { ".".to_owned() } else { s };
            }
        }
        canonical.display().to_string()
    }

    fn canonical_roots(&self, asked: &Path) -> Result<Vec<PathBuf>> {
        if self.roots.is_empty() {
            return Err(Error::SecurityViolation {
                message: format!(
                    "file system access to `{}` refused: no file-system roots are configured \
                     (set `fs_roots` to allow directories)",
                    asked.display()
                ),
            });
        }
        let roots: Vec<PathBuf> = self
            .roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .collect();
        if roots.is_empty() {
            return Err(Error::SecurityViolation {
                message: format!(
                    "file system access to `{}` refused: none of the allowed roots [{}] exists",
                    asked.display(),
                    self.roots_list()
                ),
            });
        }
        Ok(roots)
    }

    /// Canonicalises `joined`; when it does not exist, canonicalises the
    /// nearest existing ancestor and appends the missing components.
    fn canonicalize_lenient(&self, asked: &Path, joined: &Path) -> Result<PathBuf> {
        let mut existing = joined;
        let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
        loop {
            match existing.symlink_metadata() {
                Ok(_) => {
                    return match existing.canonicalize() {
                        Ok(mut base) => {
                            for part in missing.iter().rev() {
                                base.push(part);
                            }
                            Ok(base)
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(self.violation(
                            asked,
                            &format!(
                                "`{}` is a symlink whose target does not exist",
                                existing.display()
                            ),
                        )),
                        Err(e) => Err(Error::External {
                            service: "filesystem".to_owned(),
                            message: format!("cannot resolve `{}`: {e}", existing.display()),
                            retryable: false,
                            source: None,
                        }),
                    };
                }
                Err(_) => match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name);
                        existing = parent;
                    }
                    _ => {
                        return Err(self.violation(asked, "no part of it exists"));
                    }
                },
            }
        }
    }

    fn roots_list(&self) -> String {
        self.roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn violation(&self, path: &Path, why: &str) -> Error {
        Error::SecurityViolation {
            message: format!(
                "path `{}` is not within the allowed roots [{}]: {why}",
                path.display(),
                self.roots_list()
            ),
        }
    }
}

impl Default for FsSandbox {
    /// The same as [`FsSandbox::deny_all`].
    fn default() -> Self {
        Self::deny_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_under_the_first_root() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = FsSandbox::new([dir.path()]);
        let resolved = sandbox.resolve("a/b.txt").unwrap();
        assert_eq!(
            resolved,
            dir.path().canonicalize().unwrap().join("a").join("b.txt")
        );
    }

    #[test]
    fn parent_components_are_refused_even_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let sandbox = FsSandbox::new([dir.path()]);
        let err = sandbox.resolve("sub/../x").unwrap_err().to_string();
        assert!(err.contains("`..`"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn no_roots_refuses_everything_with_a_hint() {
        let err = FsSandbox::deny_all().resolve("/tmp/x").unwrap_err();
        assert!(matches!(err, Error::SecurityViolation { .. }));
        assert!(err.to_string().contains("fs_roots"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn resolve_entry_does_not_follow_the_final_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        let sandbox = FsSandbox::new([&root]);
        let canonical_root = root.canonicalize().unwrap();
        assert_eq!(
            sandbox.resolve_entry("link").unwrap(),
            canonical_root.join("link")
        );
        assert!(sandbox.resolve("link").is_err());
        assert!(sandbox.resolve_entry("link/passwd").is_err());
        assert!(sandbox.resolve_entry("../x").is_err());
    }

    #[test]
    fn display_relative_strips_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.txt"), "x").unwrap();
        let sandbox = FsSandbox::new([dir.path()]);
        let resolved = sandbox.resolve_existing("f.txt").unwrap();
        assert_eq!(sandbox.display_relative(&resolved), "f.txt");
        assert!(matches!(
            sandbox.resolve_existing("missing.txt"),
            Err(Error::NotFound { .. })
        ));
    }
}
