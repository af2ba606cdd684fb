//! The `Content-Type` of a served file, from its extension: a fixed table
//! of the common web types. No sniffing of contents (the responses say
//! `X-Content-Type-Options: nosniff`), and no system MIME database, so a
//! file is typed the same on every machine.

use std::path::Path;

/// The `Content-Type` for a file name, from its extension (compared
/// without regard to case): the common web types, text ones with
/// `; charset=utf-8`; `application/octet-stream` for anything else.
///
/// ```
/// use sutegi::files::content_type_for;
/// assert_eq!(content_type_for("app.JS"), "text/javascript; charset=utf-8");
/// assert_eq!(content_type_for("logo.svg"), "image/svg+xml");
/// assert_eq!(content_type_for("archive.unknown"), "application/octet-stream");
/// ```
pub fn content_type_for(path: impl AsRef<Path>) -> &'static str {
    let Some(extension) = path.as_ref().extension().and_then(|e| e.to_str()) else {
        return "application/octet-stream";
    };
    let mut lower = [0u8; 12];
    if extension.len() > lower.len() {
        return "application/octet-stream";
    }
    let lower = &mut lower[..extension.len()];
    lower.copy_from_slice(extension.as_bytes());
    lower.make_ascii_lowercase();
    match &*lower {
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"js" | b"mjs" | b"cjs" => "text/javascript; charset=utf-8",
        b"json" | b"map" => "application/json",
        b"webmanifest" => "application/manifest+json",
        b"txt" => "text/plain; charset=utf-8",
        b"md" => "text/markdown; charset=utf-8",
        b"csv" => "text/csv; charset=utf-8",
        b"xml" => "application/xml",
        b"svg" => "image/svg+xml",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"webp" => "image/webp",
        b"avif" => "image/avif",
        b"ico" => "image/x-icon",
        b"wasm" => "application/wasm",
        b"woff" => "font/woff",
        b"woff2" => "font/woff2",
        b"ttf" => "font/ttf",
        b"otf" => "font/otf",
        b"pdf" => "application/pdf",
        b"mp4" => "video/mp4",
        b"webm" => "video/webm",
        b"mp3" => "audio/mpeg",
        b"ogg" => "audio/ogg",
        b"wav" => "audio/wav",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_from_extensions() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("a/b/c.HTM", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("mod.mjs", "text/javascript; charset=utf-8"),
            ("data.json", "application/json"),
            ("app.js.map", "application/json"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("table.csv", "text/csv; charset=utf-8"),
            ("feed.xml", "application/xml"),
            ("logo.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.JPEG", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.webp", "image/webp"),
            ("favicon.ico", "image/x-icon"),
            ("app.wasm", "application/wasm"),
            ("f.woff", "font/woff"),
            ("f.woff2", "font/woff2"),
            ("doc.pdf", "application/pdf"),
            ("clip.mp4", "video/mp4"),
            ("clip.webm", "video/webm"),
            ("Makefile", "application/octet-stream"),
            (".env", "application/octet-stream"),
            ("x.verylongextension", "application/octet-stream"),
            ("x.exe", "application/octet-stream"),
        ];
        for (name, expected) in cases {
            assert_eq!(content_type_for(name), expected, "{name}");
        }
    }
}
