//! From a relative path to an opened file under the root: the checks that
//! keep every request inside the served directory.
//!
//! The relative path is cleaned segment by segment (`..`, backslashes, NUL
//! and platform prefixes refused; hidden names refused unless allowed),
//! then resolved with every symlink and checked to be still under the
//! resolved root; directories answer their index file or a redirect to
//! the path with a slash. What is then sent is decided in the parent
//! module.

use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use super::ServeDir;
use crate::error::Error;
use crate::server::{Request, Response};
use crate::Status;

/// What resolving a path led to.
pub(super) enum Opened {
    /// A regular file, opened, with the path it was named by (its
    /// extension gives the content type, even through a symlink).
    File {
        file: File,
        metadata: fs::Metadata,
        named: PathBuf,
    },
    /// A directory asked for without its trailing slash.
    Redirect(Response),
}

impl ServeDir {
    /// Resolves and opens the file, refusing anything outside the root.
    pub(super) fn open(
        &self,
        relative: &Path,
        wants_directory: bool,
        request: &Request,
    ) -> Result<Opened, Error> {
        let root = fs::canonicalize(&self.root).map_err(|error| {
            log::debug!("static root {} is unusable: {error}", self.root.display());
            not_found()
        })?;
        let mut named = root.join(relative);
        let mut target = resolve_inside(&root, &named)?;
        let mut metadata = fs::metadata(&target).map_err(io_refusal)?;
        if metadata.is_dir() {
            if !request.path().ends_with('/') {
                return Ok(Opened::Redirect(directory_redirect(request)));
            }
            let index = self.index_file.as_deref().ok_or_else(not_found)?;
            let index = clean_relative_path(index, true).map_err(|_| not_found())?;
            named = target.join(index);
            target = resolve_inside(&root, &named)?;
            metadata = fs::metadata(&target).map_err(io_refusal)?;
        } else if wants_directory {
            // `app.js/` names a directory that is not there.
            return Err(not_found());
        }
        if !metadata.is_file() {
            // FIFOs, sockets, devices: opening a FIFO could block a worker.
            return Err(not_found());
        }
        let file = File::open(&target).map_err(io_refusal)?;
        // Describe what was opened, not what the path named a moment ago.
        let metadata = file.metadata().map_err(io_refusal)?;
        if !metadata.is_file() {
            return Err(not_found());
        }
        Ok(Opened::File {
            file,
            metadata,
            named,
        })
    }
}

/// Checks a relative path segment by segment and rebuilds it from the
/// segments that name something: `..`, backslashes, NUL and platform
/// prefixes are refused (400), hidden names are a 404 unless allowed.
pub(super) fn clean_relative_path(relative: &str, serve_hidden: bool) -> Result<PathBuf, Error> {
    if relative.contains('\0') {
        return Err(Error::bad_request("the file path contains a NUL byte"));
    }
    if relative.contains('\\') {
        return Err(Error::bad_request(
            "the file path contains a backslash; separate segments with `/`",
        ));
    }
    let mut clean = PathBuf::new();
    for segment in relative.split('/') {
        match segment {
            "" | "." => continue,
            ".." => {
                return Err(Error::bad_request(
                    "the file path contains a `..` segment, which could leave the directory",
                ))
            }
            _ if segment.starts_with('.') && !serve_hidden => return Err(not_found()),
            _ => {}
        }
        // Whatever the platform reads as more than one plain name (a drive
        // letter, a root) cannot be a segment.
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) if name == segment => clean.push(segment),
            _ => {
                return Err(Error::bad_request(
                    "the file path holds a segment that is not a plain file name",
                ))
            }
        }
    }
    Ok(clean)
}

/// Resolves every symlink in `path` and checks the result is still under
/// `root` (itself resolved). Outside is answered as missing.
fn resolve_inside(root: &Path, path: &Path) -> Result<PathBuf, Error> {
    let resolved = fs::canonicalize(path).map_err(io_refusal)?;
    if resolved.starts_with(root) {
        Ok(resolved)
    } else {
        log::debug!(
            "refused {}: it resolves outside the static root",
            path.display()
        );
        Err(not_found())
    }
}

fn not_found() -> Error {
    Error::not_found("no such file")
}

/// Missing (or not a directory on the way) is a 404; denied is a 403;
/// anything else is logged and answered as missing.
fn io_refusal(error: io::Error) -> Error {
    match error.kind() {
        io::ErrorKind::PermissionDenied => {
            Error::new(Status::FORBIDDEN, "the file may not be read")
        }
        io::ErrorKind::NotFound => not_found(),
        _ => {
            log::debug!("a static file lookup failed: {error}");
            not_found()
        }
    }
}

/// 307 to the same path with a trailing slash, query kept.
fn directory_redirect(request: &Request) -> Response {
    // Collapse leading slashes so `//evil.example` cannot become a
    // protocol-relative redirect to another host.
    let path = format!("/{}/", request.path().trim_start_matches('/'));
    let path = if path == "//" { "/".to_owned() } else { path };
    let location = match request.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    Response::new(307).header("Location", location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_rebuilt_from_plain_segments() {
        assert_eq!(
            clean_relative_path("//a/./b//c.txt", false).unwrap(),
            Path::new("a/b/c.txt")
        );
        assert_eq!(clean_relative_path("", false).unwrap(), Path::new(""));
        for bad in ["..", "a/..", "a/../b", "a\\b", "a\0b", "../", "..."] {
            let refused = clean_relative_path(bad, true);
            if bad == "..." {
                // Three dots is an ordinary (if odd) name.
                assert!(refused.is_ok());
            } else {
                assert_eq!(
                    refused.unwrap_err().status(),
                    Status::BAD_REQUEST,
                    "{bad:?}"
                );
            }
        }
        assert_eq!(
            clean_relative_path(".hidden/x", false)
                .unwrap_err()
                .status(),
            Status::NOT_FOUND
        );
    }
}
