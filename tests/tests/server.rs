//! The server core over real sockets on 127.0.0.1: keep-alive, pipelining,
//! refusals, idle and slow clients, streams, panics and draining shutdown.
//! Each test starts its own server on port 0 with a plain closure handler
//! (no router), and bounds every loop in count and time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sutegi::{Limits, Request, Response, Server, SseEvent};

/// A server running on a thread until dropped (or `stop`ped).
struct Running {
    addr: SocketAddr,
    flag: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(limits: Limits, workers: usize) -> Running {
        let server = Server::bind("127.0.0.1:0")
            .unwrap()
            .limits(limits)
            .workers(workers);
        let addr = server.local_addr().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&flag);
        let thread = std::thread::spawn(move || server.serve_until(app, &stop));
        Running {
            addr,
            flag,
            thread: Some(thread),
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// Asks for shutdown and waits for `serve_until` to return.
    fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.flag.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap().unwrap();
        started.elapsed()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The handler every test serves.
fn app(req: Request) -> Response {
    let query = req.query().unwrap_or("");
    let number = |name: &str, default: u64| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match req.path() {
        "/plaintext" => Response::text("Hello, World!"),
        "/echo" => Response::with_body(200, req.body().to_vec()),
        "/slow" => {
            std::thread::sleep(Duration::from_millis(number("ms", 0)));
            Response::text(format!("slept {}", number("ms", 0)))
        }
        "/panic" => panic!("panicked on purpose"),
        "/events" => {
            let (n, interval) = (number("n", 5), number("interval_ms", 0));
            Response::sse(move |sink| {
                for i in 0..n {
                    if i > 0 {
                        std::thread::sleep(Duration::from_millis(interval));
                    }
                    sink.send(
                        &SseEvent::new()
                            .event("tick")
                            .id(i.to_string())
                            .data(i.to_string()),
                    )?;
                }
                Ok(())
            })
        }
        "/big" => Response::with_body(200, vec![b'x'; 8 << 20]),
        // Writes nothing: waits for its client to leave (or 5 s), and
        // records when it learned of it.
        "/quiet" => Response::sse(|sink| {
            let closed = sink.wait_closed(Duration::from_secs(5));
            *QUIET_SAW.lock().unwrap() = Some((closed, Instant::now()));
            Ok(())
        }),
        // Streams until shutdown, then says goodbye.
        "/goodbye" => Response::sse(|sink| {
            sink.data("hello")?;
            while !sink.wait_closed(Duration::from_secs(10)) {}
            if sink.is_shutting_down() {
                sink.event("error", "shutting down")?;
            }
            Ok(())
        }),
        _ => Response::with_body(404, "not found"),
    }
}

/// What `/quiet`'s producer saw: whether `wait_closed` said closed, and when.
static QUIET_SAW: Mutex<Option<(bool, Instant)>> = Mutex::new(None);

/// Reads one response (Content-Length or chunked) and returns (status, head, body).
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    if (100..200).contains(&status) {
        return Ok((status, head, Vec::new()));
    }
    let lower = head.to_ascii_lowercase();
    let mut body = Vec::new();
    if let Some(len) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
    {
        body.resize(len.trim().parse().unwrap_or(0), 0);
        reader.read_exact(&mut body)?;
    } else if lower.contains("transfer-encoding: chunked") {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Ok((status, head, body))
}

fn get(running: &Running, target: &str) -> (u16, String, Vec<u8>) {
    let mut stream = running.connect();
    write!(stream, "GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    read_response(&mut BufReader::new(stream)).unwrap()
}

/// The status of the answer to raw bytes, and whether the server closed.
fn send_raw(running: &Running, bytes: &[u8]) -> (u16, bool) {
    let mut stream = running.connect();
    stream.write_all(bytes).unwrap();
    let mut reader = BufReader::new(stream);
    let (status, _, _) = read_response(&mut reader).unwrap_or((0, String::new(), Vec::new()));
    let mut rest = Vec::new();
    let closed = reader.read_to_end(&mut rest).is_ok();
    (status, closed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let running = Running::start(Limits::default(), 4);
    let mut stream = running.connect();
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /slow?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|_| read_response(&mut reader).unwrap().2)
        .collect();
    assert_eq!(
        bodies,
        [
            b"Hello, World!".to_vec(),
            b"abc".to_vec(),
            b"slept 1".to_vec()
        ]
    );
    // And the connection carries more afterwards.
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let (status, head, _) = read_response(&mut reader).unwrap();
    assert_eq!(status, 200);
    assert!(head.contains("Date: "), "{head}");
}

#[test]
fn connection_close_and_http_1_0_close_after_the_response() {
    let running = Running::start(Limits::default(), 2);
    let (status, closed) = send_raw(
        &running,
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((status, closed), (200, true));
    let (status, closed) = send_raw(&running, b"GET /plaintext HTTP/1.0\r\n\r\n");
    assert_eq!((status, closed), (200, true));
}

#[test]
fn http_1_0_keep_alive_is_honoured() {
    let running = Running::start(Limits::default(), 2);
    let mut stream = running.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..2 {
        stream
            .write_all(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let (status, head, _) = read_response(&mut reader).unwrap();
        assert_eq!(status, 200);
        assert!(head.contains("Connection: keep-alive"), "{head}");
    }
}

#[test]
fn bad_input_gets_its_status_and_a_closed_connection_and_the_server_answers_on() {
    let running = Running::start(Limits::default(), 2);
    let cases: &[(&[u8], u16)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
        (b"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413),
    ];
    for (bytes, expected) in cases {
        let (status, closed) = send_raw(&running, bytes);
        assert_eq!(status, *expected, "{}", String::from_utf8_lossy(bytes));
        assert!(closed, "connection left open after {expected}");
    }
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    assert_eq!(send_raw(&running, long_target.as_bytes()).0, 414);
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-A: {}\r\n\r\n",
        "a".repeat(17_000)
    );
    assert_eq!(send_raw(&running, big_head.as_bytes()).0, 431);
    assert_eq!(get(&running, "/plaintext").0, 200);
}

#[test]
fn chunked_request_bodies_and_expect_continue() {
    let running = Running::start(Limits::default(), 2);
    let mut stream = running.connect();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n2\r\nef\r\n0\r\nT: 1\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    assert_eq!(read_response(&mut reader).unwrap().2, b"abcdef");

    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        )
        .unwrap();
    let (status, _, _) = read_response(&mut reader).unwrap();
    assert_eq!(status, 100, "100 Continue comes before the body is sent");
    stream.write_all(b"wxyz").unwrap();
    let (status, _, body) = read_response(&mut reader).unwrap();
    assert_eq!((status, body), (200, b"wxyz".to_vec()));
}

#[test]
fn head_gets_headers_without_a_body() {
    let running = Running::start(Limits::default(), 2);
    let mut stream = running.connect();
    stream.write_all(b"HEAD /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    for _ in 0..32 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.contains("Content-Length: 13"), "{head}");
    // The very next bytes are the GET's response, not a body.
    let (status, _, body) = read_response(&mut reader).unwrap();
    assert_eq!((status, body), (200, b"Hello, World!".to_vec()));
}

#[test]
fn a_panicking_handler_is_a_500_and_the_workers_live_on() {
    let running = Running::start(Limits::default(), 2);
    for _ in 0..10 {
        let (status, _, body) = get(&running, "/panic");
        assert_eq!(status, 500);
        assert!(
            !String::from_utf8_lossy(&body).contains("on purpose"),
            "the panic message must not leak"
        );
    }
    // Two workers, ten panics: both still serve.
    for _ in 0..10 {
        assert_eq!(get(&running, "/plaintext").0, 200);
    }
}

#[test]
fn two_thousand_idle_connections_do_not_delay_a_fresh_client() {
    let running = Running::start(Limits::default(), 4);
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let mut stream = running.connect();
        stream
            .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        idle.push(stream);
    }
    // Every idle connection got its answer and stays open.
    for stream in &mut idle {
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        assert_eq!(get(&running, "/plaintext").0, 200);
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let p99 = percentile(&latencies, 0.99);
    println!("fresh p99 with 2,000 idle connections: {p99:?}");
    assert!(
        p99 < Duration::from_millis(500),
        "fresh requests starved: p99 {p99:?}"
    );
    // The idle ones are still served on the same connections.
    for stream in idle.iter_mut().step_by(100) {
        stream
            .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
}

#[test]
fn slowloris_clients_are_cut_off_and_do_not_block_others() {
    let limits = Limits {
        head_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let running = Running::start(limits, 2);
    let mut slow: Vec<TcpStream> = (0..50).map(|_| running.connect()).collect();
    let started = Instant::now();
    // Trickle a head a byte at a time for longer than the head deadline.
    let head = b"GET /plaintext HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut served_meanwhile = 0;
    for byte in head.iter().take(30) {
        for stream in &mut slow {
            let _ = stream.write_all(&[*byte]);
        }
        assert_eq!(get(&running, "/plaintext").0, 200);
        served_meanwhile += 1;
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_secs(4) {
            break;
        }
    }
    assert!(served_meanwhile >= 20);
    // Past the deadline each slow client got a 408 and a closed connection.
    for stream in &mut slow {
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        assert!(
            reply.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }
}

#[test]
fn two_hundred_streams_run_while_plain_requests_answer() {
    let running = Running::start(Limits::default(), 4);
    let received = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..200)
        .map(|_| {
            let mut stream = running.connect();
            let received = Arc::clone(&received);
            std::thread::spawn(move || {
                stream
                    .write_all(b"GET /events?n=20&interval_ms=50 HTTP/1.1\r\nHost: t\r\n\r\n")
                    .unwrap();
                let (_, head, body) = read_response(&mut BufReader::new(stream)).unwrap();
                assert!(head.contains("text/event-stream"));
                let events = String::from_utf8(body)
                    .unwrap()
                    .matches("event: tick")
                    .count();
                received.fetch_add(events, Ordering::SeqCst);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut latencies = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        assert_eq!(get(&running, "/plaintext").0, 200);
        latencies.push(started.elapsed());
    }
    for client in clients {
        client.join().unwrap();
    }
    latencies.sort();
    println!(
        "plain p99 during 200 streams: {:?}",
        percentile(&latencies, 0.99)
    );
    assert!(percentile(&latencies, 0.99) < Duration::from_millis(500));
    assert_eq!(
        received.load(Ordering::SeqCst),
        200 * 20,
        "every event of every stream"
    );
}

#[test]
fn a_stream_over_the_bound_is_a_503() {
    let limits = Limits {
        max_streams: 1,
        ..Limits::default()
    };
    let running = Running::start(limits, 2);
    let mut first = running.connect();
    first
        .write_all(b"GET /events?n=20&interval_ms=100 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(first);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"));
    assert_eq!(get(&running, "/events?n=1").0, 503);
    assert_eq!(get(&running, "/plaintext").0, 200);
}

#[test]
fn streams_leave_the_connection_usable() {
    let running = Running::start(Limits::default(), 2);
    let mut stream = running.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    stream
        .write_all(b"GET /events?n=3 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let (_, _, body) = read_response(&mut reader).unwrap();
    assert_eq!(String::from_utf8(body).unwrap().matches("id: ").count(), 3);
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader).unwrap().2, b"Hello, World!");
}

#[test]
fn idle_connections_close_after_the_keep_alive_timeout() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let running = Running::start(limits, 2);
    let mut stream = running.connect();
    stream
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    read_response(&mut reader).unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    assert_eq!(
        reader.read_to_end(&mut rest).unwrap(),
        0,
        "closed without another byte"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn requests_per_connection_are_bounded() {
    let limits = Limits {
        max_requests_per_connection: 3,
        ..Limits::default()
    };
    let running = Running::start(limits, 2);
    let mut stream = running.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for i in 1..=3 {
        stream
            .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let (_, head, _) = read_response(&mut reader).unwrap();
        assert_eq!(
            head.contains("Connection: close"),
            i == 3,
            "request {i}: {head}"
        );
    }
}

#[test]
fn a_client_that_reads_nothing_does_not_hold_a_worker() {
    let limits = Limits {
        write_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let running = Running::start(limits, 1);
    // One worker; this client asks for 8 MiB and never reads it.
    let mut stuck = running.connect();
    stuck
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(get(&running, "/plaintext").0, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the only worker was held by a slow reader"
    );
    drop(stuck);
}

#[test]
fn a_stream_to_a_client_that_reads_nothing_ends_after_the_write_timeout() {
    // The kernel keeps taking a little more into a growing send buffer
    // now and then, so no single write blocks for the whole timeout; the
    // stream must still end once the client has read nothing for that long.
    let limits = Limits {
        write_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let running = Running::start(limits, 2);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&running.addr.into()).unwrap();
    let mut stuck: TcpStream = socket.into();
    stuck
        .write_all(b"GET /events?n=100000000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    // Drain what the kernel buffered: the stream must have been cut (a reset
    // or an end without the closing chunk), not be still flowing.
    stuck
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let deadline = Instant::now() + Duration::from_secs(10);
    let ended = loop {
        if Instant::now() > deadline {
            break false;
        }
        match stuck.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) => {
                break matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                )
            }
        }
    };
    assert!(
        ended,
        "the stream was still flowing 16 s after the client stopped reading"
    );
    assert_eq!(get(&running, "/plaintext").0, 200);
}

#[test]
fn handlers_blocked_in_slow_calls_do_not_starve_other_requests() {
    // Eight seats: seven slow requests block seven of their threads (and
    // more, as seats change hands), yet a plain request sent behind them
    // is answered long before they finish.
    let running = Running::start(Limits::default(), 8);
    let slow: Vec<_> = (0..7)
        .map(|_| {
            let mut stream = running.connect();
            std::thread::spawn(move || {
                stream
                    .write_all(b"GET /slow?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n")
                    .unwrap();
                read_response(&mut BufReader::new(stream)).unwrap().0
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..5 {
        let started = Instant::now();
        let (status, _, body) = get(&running, "/plaintext");
        assert_eq!((status, body.as_slice()), (200, &b"Hello, World!"[..]));
        let took = started.elapsed();
        assert!(took < Duration::from_millis(500), "answered after {took:?}");
    }
    for client in slow {
        assert_eq!(client.join().unwrap(), 200);
    }
}

#[test]
fn serve_until_drains_fifty_in_flight_requests_with_none_lost() {
    let running = Running::start(Limits::default(), 8);
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let mut stream = running.connect();
            let answered = Arc::clone(&answered);
            std::thread::spawn(move || {
                stream
                    .write_all(
                        b"POST /slow?ms=400 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
                    )
                    .unwrap();
                let (status, head, body) = read_response(&mut BufReader::new(stream)).unwrap();
                assert_eq!((status, body), (200, b"slept 400".to_vec()));
                assert!(
                    head.contains("Connection: close"),
                    "answered during drain: {head}"
                );
                answered.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let took = running.stop();
    for client in clients {
        client.join().unwrap();
    }
    assert_eq!(answered.load(Ordering::SeqCst), 50);
    assert!(took < Duration::from_secs(10), "drain took {took:?}");
}

#[test]
fn shutdown_ends_open_streams_cleanly() {
    let running = Running::start(Limits::default(), 2);
    let mut stream = running.connect();
    stream
        .write_all(b"GET /events?n=1000&interval_ms=20 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let reader = std::thread::spawn(move || read_response(&mut BufReader::new(stream)));
    std::thread::sleep(Duration::from_millis(200));
    let took = running.stop();
    // The stream ended with its closing chunk (read_response saw it), early.
    let (status, _, body) = reader.join().unwrap().unwrap();
    assert_eq!(status, 200);
    let events = String::from_utf8(body)
        .unwrap()
        .matches("event: tick")
        .count();
    assert!(events > 0 && events < 1000, "{events} events");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_second_server_binds_beside_the_first_with_reuse_port() {
    let first = Server::bind("127.0.0.1:0").unwrap().reuse_port(true);
    let addr = first.local_addr().unwrap();
    assert!(
        std::net::TcpListener::bind(addr).is_err(),
        "a plain bind must find the port taken"
    );
    // What a restarting process does: bind beside the old one, serve, and
    // let the old one drain.
    let second = Server::bind_reuse_port(addr).expect("binding beside a SO_REUSEPORT listener");
    assert_eq!(second.local_addr().unwrap(), addr);
    let mut servers = Vec::new();
    for server in [first, second] {
        let flag = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&flag);
        servers.push((
            flag,
            std::thread::spawn(move || server.serve_until(app, &stop)),
        ));
    }
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut BufReader::new(stream)).unwrap().0, 200);
    }
    for (flag, thread) in servers {
        flag.store(true, Ordering::SeqCst);
        thread.join().unwrap().unwrap();
    }
}

#[test]
fn thirty_two_blocked_handlers_leave_fresh_requests_quick() {
    // One seat: every slow handler blocks the thread holding it, which
    // hands the seat to a spare; fresh requests never wait for a sleeper.
    let running = Running::start(Limits::default(), 1);
    let slow: Vec<_> = (0..32)
        .map(|_| {
            let mut stream = running.connect();
            std::thread::spawn(move || {
                stream
                    .write_all(
                        b"POST /slow?ms=2000 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
                    )
                    .unwrap();
                read_response(&mut BufReader::new(stream)).unwrap().0
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut took = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, _, body) = get(&running, "/plaintext");
        assert_eq!((status, body.as_slice()), (200, &b"Hello, World!"[..]));
        took.push(started.elapsed());
    }
    took.sort();
    // Generous: the machine running the tests may be loaded.
    assert!(
        took[took.len() - 1] < Duration::from_millis(500),
        "{took:?}"
    );
    for client in slow {
        assert_eq!(client.join().unwrap(), 200);
    }
}

#[test]
fn a_request_waiting_past_the_queue_deadline_gets_503_with_retry_after() {
    // One seat and one spare: two slow handlers hold both threads, so a
    // third request has no thread until the queue deadline.
    let limits = Limits {
        max_blocked_workers: 1,
        queue_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let running = Running::start(limits, 1);
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let mut stream = running.connect();
            let client = std::thread::spawn(move || {
                stream
                    .write_all(b"GET /slow?ms=2500 HTTP/1.1\r\nHost: t\r\n\r\n")
                    .unwrap();
                read_response(&mut BufReader::new(stream)).unwrap().0
            });
            // Let the seat change hands before the next one arrives.
            std::thread::sleep(Duration::from_millis(100));
            client
        })
        .collect();
    let started = Instant::now();
    let (status, head, _) = get(&running, "/plaintext");
    let took = started.elapsed();
    assert_eq!(status, 503, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1\r\n"),
        "{head}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    for client in slow {
        assert_eq!(client.join().unwrap(), 200);
    }
    // With the threads back, requests are served again.
    assert_eq!(get(&running, "/plaintext").0, 200);
}

#[test]
fn a_silent_stream_learns_at_once_that_its_client_left() {
    let running = Running::start(Limits::default(), 2);
    let mut stream = running.connect();
    stream
        .write_all(b"GET /quiet HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    std::thread::sleep(Duration::from_millis(200));
    drop(reader);
    let left = Instant::now();
    let deadline = left + Duration::from_secs(5);
    let (closed, at) = loop {
        if let Some(saw) = *QUIET_SAW.lock().unwrap() {
            break saw;
        }
        assert!(Instant::now() < deadline, "the producer never learned");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(closed, "wait_closed timed out instead");
    let after = at.saturating_duration_since(left);
    assert!(after < Duration::from_secs(1), "learned after {after:?}");
}

#[test]
fn a_stream_says_goodbye_at_shutdown_and_the_server_stops_at_once() {
    let running = Running::start(Limits::default(), 2);
    // Streams that ran and ended leave no thread that delays the stop.
    for _ in 0..3 {
        let (status, _, body) = get(&running, "/events?n=3");
        assert_eq!(status, 200);
        assert_eq!(
            String::from_utf8(body)
                .unwrap()
                .matches("event: tick")
                .count(),
            3
        );
    }
    let mut stream = running.connect();
    stream
        .write_all(b"GET /goodbye HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let reader = std::thread::spawn(move || read_response(&mut BufReader::new(stream)));
    std::thread::sleep(Duration::from_millis(200));
    let took = running.stop();
    // Whole: the closing chunk came (read_response saw it), after the goodbye.
    let (status, _, body) = reader.join().unwrap().unwrap();
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.starts_with("data: hello\n\n")
            && body.ends_with("event: error\ndata: shutting down\n\n"),
        "{body:?}"
    );
    assert!(took < Duration::from_millis(500), "stopped after {took:?}");
}

#[test]
fn a_large_body_read_in_place_leaves_the_request_behind_it_intact() {
    let limits = Limits {
        max_body_bytes: 8 << 20,
        ..Limits::default()
    };
    let running = Running::start(limits, 1);
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let stream = running.connect();
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request.extend_from_slice(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || writer.write_all(&request).unwrap());
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (status, _, echoed) = read_response(&mut reader).unwrap();
    assert_eq!(status, 200);
    assert!(echoed == body, "the echoed body differs");
    let (status, _, plain) = read_response(&mut reader).unwrap();
    assert_eq!((status, plain.as_slice()), (200, &b"Hello, World!"[..]));
    sending.join().unwrap();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
