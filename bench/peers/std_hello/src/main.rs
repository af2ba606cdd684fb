//! `std-hello`: the hello server a zero-dependency author writes on `std`
//! alone — a thread per connection, a `BufReader` over the socket,
//! keep-alive unless the client asks to close. It exists to be measured:
//! `bench/run` builds it with the `min-size` profile beside sutegi's
//! `examples/hello`, and the size target is a ratio of the two
//! (docs/benchmarks.md). It is not one of the load-tested peers.
//!
//! Usage: `std-hello [ADDR]` (default 127.0.0.1:8080).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || {
                    // A client that goes away mid-request is its own business.
                    let _ = serve(stream);
                });
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    Ok(())
}

/// Answers requests on one connection until the client closes it or asks to.
fn serve(stream: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let hello = line.starts_with("GET / ");
        let mut close = line.trim_end().ends_with("HTTP/1.0");
        let mut body_len = 0usize;
        // Headers, up to the blank line: only Connection and Content-Length matter here.
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                } else if name.eq_ignore_ascii_case("content-length") {
                    body_len = value.parse().unwrap_or(0);
                }
            }
        }
        // A body nobody asked for is read and dropped, so the next request starts clean.
        io::copy(&mut (&mut reader).take(body_len as u64), &mut io::sink())?;
        let (status, body) = if hello {
            ("200 OK", "Hello, World!")
        } else {
            ("404 Not Found", "Not Found")
        };
        write!(
            writer,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )?;
        writer.flush()?;
        if close {
            return Ok(());
        }
    }
}
