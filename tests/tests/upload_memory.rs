//! A large upload goes to disk without being held in memory: 64 MiB sent
//! over a socket to a route that saves the part with `Field::save_to`
//! raises the process's peak resident memory by a few MiB, not by the
//! upload's size. Alone in its test binary (one process, one test), so the
//! peak is this upload's: the kernel's high-water mark is reset through
//! `/proc/self/clear_refs` just before it starts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Running;
use sutegi::extract::Multipart;
use sutegi::{post, routes, Error, Limits};

const UPLOAD_BYTES: usize = 64 << 20;
/// Generous for chunk buffers, socket buffers and the file's writer; a
/// body buffered whole would cost 64 MiB.
const ALLOWED_GROWTH_KIB: u64 = 16 << 10;

#[post("/save", body_limit = "80MiB")]
fn save(mut form: Multipart) -> Result<String, Error> {
    let dir = std::env::temp_dir().join(format!("sutegi-upload-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut sizes = Vec::new();
    while let Some(field) = form.next_field()? {
        let path = dir.join("part");
        let size = field.save_to(&path)?;
        sizes.push(format!("{size}:{}", std::fs::metadata(&path)?.len()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(sizes.join(","))
}

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[test]
fn a_64_mib_upload_saved_to_disk_adds_a_few_mib_of_peak_memory() {
    let server = Running::start(Limits::default(), routes![save]);
    let boundary = "memory-test-boundary";
    let part_head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let closing = format!("\r\n--{boundary}--\r\n");
    let length = part_head.len() + UPLOAD_BYTES + closing.len();

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // Warm up the server's threads and buffers with a small upload first.
    let small = format!("{part_head}tiny{closing}");
    let warm = format!(
        "POST /save HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n{small}",
        small.len()
    );
    stream.write_all(warm.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).ends_with("4:4"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );

    // Reset the peak to what is resident now.
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting the peak RSS");
    let before = status_kib("VmRSS:");
    stream
        .write_all(
            format!(
                "POST /save HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{part_head}"
            )
            .as_bytes(),
        )
        .unwrap();
    // Sent in 64 KiB pieces made on the fly, so the client holds no copy.
    let piece: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    for _ in 0..UPLOAD_BYTES / piece.len() {
        stream.write_all(&piece).unwrap();
    }
    stream.write_all(closing.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let peak = status_kib("VmHWM:");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.ends_with(&format!("{UPLOAD_BYTES}:{UPLOAD_BYTES}")),
        "{text}"
    );
    let growth = peak.saturating_sub(before);
    eprintln!(
        "peak RSS grew {growth} KiB for a {} MiB upload",
        UPLOAD_BYTES >> 20
    );
    assert!(
        growth < ALLOWED_GROWTH_KIB,
        "peak RSS grew {growth} KiB during a {} MiB upload (allowed {ALLOWED_GROWTH_KIB} KiB)",
        UPLOAD_BYTES >> 20
    );
}
