//! Serving: the [`Server`] builder, [`serve`] and [`serve_until`], and the
//! state the serving threads share. The work itself is split by concern:
//!
//! - `cores`: how many CPUs the process may use (the seat count's basis);
//! - `seats`: the seats (one readiness set and its connections per core),
//!   the thread holding each, hand-off to spares when a handler blocks;
//! - `accept`: the acceptor thread, handing new connections to seats;
//! - `slots`: each seat's connection table (where each connection is),
//!   parking, closing, the overload refusal and the deadline sweep;
//! - `streams`: running a streamed response on a stream thread, watched
//!   for the client leaving;
//! - `shutdown`: the graceful shutdown sequence and the supervisor's step.
//!
//! The rules these follow (a connection is in exactly one place, a socket
//! leaves the poller before it closes, the shutdown order) are written in
//! the [`server`](super) module's documentation.

mod accept;
mod cores;
mod seats;
mod shutdown;
mod slots;
mod streams;

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::handler::{Handler, IntoHandler};
use super::limits::Limits;
use super::runners::StreamRunners;
use accept::Acceptor;
use cores::default_workers;
use seats::{Seat, Spares};

/// How often the supervisor checks the shutdown flag and sweeps deadlines
/// while no seat is inside a turn.
const TICK: Duration = Duration::from_millis(10);
/// How often parked connections are swept for passed deadlines.
const SWEEP_EVERY: Duration = Duration::from_millis(200);
/// How long accepting pauses when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// A connection that has sent nothing when shutdown closes the listener
/// gets this long for its first bytes.
const FIRST_BYTES_GRACE: Duration = Duration::from_millis(500);
/// Pending connections the kernel queues for us.
const BACKLOG: i32 = 1024;

/// Binds an address and serves `app` with default [`Limits`] until SIGINT or
/// SIGTERM, then drains in-flight requests (in the order the
/// [`server`](super) module's "Shutdown" section gives) and returns `Ok`.
///
/// `app` is a `Router` or any `Fn(Request) -> Response + Send + Sync +
/// 'static`; a router that does not check out (conflicting routes, missing
/// state) is reported as an `InvalidInput` error before the socket is bound.
pub fn serve(addr: impl ToSocketAddrs, app: impl IntoHandler) -> io::Result<()> {
    let handler = app.into_server_handler()?;
    Server::bind(addr)?.serve(handler)
}

/// Like [`serve`], but runs until `shutdown` becomes `true` (signals are left
/// to the caller), then stops accepting, tells open streams to end, lets
/// in-flight requests finish within [`Limits::shutdown_grace`] and returns.
pub fn serve_until(
    addr: impl ToSocketAddrs,
    app: impl IntoHandler,
    shutdown: &AtomicBool,
) -> io::Result<()> {
    let handler = app.into_server_handler()?;
    Server::bind(addr)?.serve_until(handler, shutdown)
}

/// A bound server, configured before it serves.
///
/// ```no_run
/// use sutegi::{Limits, Request, Response, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.workers(4).limits(Limits::default());
/// println!("listening on http://{}", server.local_addr()?);
/// server.serve(|_req: Request| Response::text("hello"))
/// # ; Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    listener: TcpListener,
    limits: Limits,
    workers: usize,
    handle_signals: bool,
    /// An error from a builder step, reported when serving starts.
    deferred_error: Option<io::Error>,
}

impl Server {
    /// Binds a listening socket (port 0 picks a free port; see
    /// [`local_addr`](Server::local_addr)). Raises the soft open-file limit
    /// to the hard one, as Go's runtime does, since every connection is a
    /// file descriptor.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Server::bind_with(addr, false)
    }

    /// Binds with `SO_REUSEPORT` from the start: what a new process uses to
    /// bind beside a running one (which also set it) during a restart, since
    /// [`bind`](Server::bind) would find the port taken. The kernel then
    /// spreads new connections over both until the old one drains.
    pub fn bind_reuse_port(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Server::bind_with(addr, true)
    }

    fn bind_with(addr: impl ToSocketAddrs, reuse_port: bool) -> io::Result<Server> {
        raise_open_file_limit();
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        Ok(Server {
            listener: bind_listener(addr, reuse_port)?,
            limits: Limits::default(),
            workers: default_workers(),
            handle_signals: true,
            deferred_error: None,
        })
    }

    /// The bound address (the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Sets the resource limits.
    pub fn limits(mut self, limits: Limits) -> Server {
        self.limits = limits;
        self
    }

    /// Sets the number of seats: the threads that run request code at once
    /// (default: the cores, the CPUs the process's affinity allows, capped
    /// by a cgroup v2 CPU limit such as a container's `limits.cpu`). Each
    /// seat has its own readiness set and connections. A handler that
    /// blocks does not cost a seat: after about two milliseconds its seat
    /// goes to a spare thread (at most [`Limits::max_blocked_workers`] of
    /// them), so more seats than cores only add threads competing for the
    /// cores.
    pub fn workers(mut self, workers: usize) -> Server {
        self.workers = workers.max(1);
        self
    }

    /// Opens the socket with `SO_REUSEPORT`, so a new process can bind beside
    /// this one during a restart (with [`bind_reuse_port`](Server::bind_reuse_port)).
    /// Rebinds the same address; a port another process holds needs
    /// `bind_reuse_port` instead, as the first plain bind fails.
    pub fn reuse_port(mut self, reuse: bool) -> Server {
        match self.listener.local_addr().and_then(|addr| {
            // Close the old socket first: it holds the port without the flag.
            let placeholder = bind_listener(SocketAddr::from(([127, 0, 0, 1], 0)), false)?;
            drop(std::mem::replace(&mut self.listener, placeholder));
            bind_listener(addr, reuse)
        }) {
            Ok(listener) => self.listener = listener,
            Err(error) => self.deferred_error = Some(error),
        }
        self
    }

    /// Whether [`serve`](Server::serve) drains on SIGINT and SIGTERM
    /// (default `true`; a second SIGINT ends the process at once, a second
    /// SIGTERM does not).
    pub fn handle_signals(mut self, handle: bool) -> Server {
        self.handle_signals = handle;
        self
    }

    /// Serves `app` until SIGINT or SIGTERM (unless
    /// [`handle_signals(false)`](Server::handle_signals): then until the
    /// process ends), then drains and returns `Ok`.
    pub fn serve(self, app: impl IntoHandler) -> io::Result<()> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut registered = Vec::new();
        if self.handle_signals {
            use signal_hook::consts::{SIGINT, SIGTERM};
            // A second Ctrl-C while draining ends the process at once (exit
            // 130, as a shell reports SIGINT). A repeated SIGTERM does not:
            // orchestrators may send it again, and the drain must finish.
            registered.push(signal_hook::flag::register_conditional_shutdown(
                SIGINT,
                130,
                Arc::clone(&flag),
            )?);
            for signal in [SIGINT, SIGTERM] {
                registered.push(signal_hook::flag::register(signal, Arc::clone(&flag))?);
            }
        }
        let result = self.serve_until(app, &flag);
        for id in registered {
            signal_hook::low_level::unregister(id);
        }
        result
    }

    /// Serves `app` until `shutdown` becomes `true`, then drains in the
    /// order the [`server`](super) module's "Shutdown" section gives, and
    /// returns `Ok`.
    pub fn serve_until(self, app: impl IntoHandler, shutdown: &AtomicBool) -> io::Result<()> {
        if let Some(error) = self.deferred_error {
            return Err(error);
        }
        let handler = app.into_server_handler()?;
        self.listener.set_nonblocking(true)?;
        let seats = (0..self.workers)
            .map(|_| Seat::new())
            .collect::<io::Result<Vec<Seat>>>()?;
        let shared = Arc::new(Shared {
            handler,
            limits: self.limits,
            seats: seats.into_boxed_slice(),
            next_seat: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            acceptor: Acceptor::new()?,
            spares: Mutex::new(Spares::default()),
            spare_changed: Condvar::new(),
            clock: Instant::now(),
            phase: AtomicU8::new(Phase::Serving as u8),
            stop_streams: Arc::new(AtomicBool::new(false)),
            streams: AtomicUsize::new(0),
            streamed_bodies: AtomicUsize::new(0),
            runners: Arc::default(),
            last_sweep: Mutex::new(Instant::now()),
        });
        let mut acceptor = None;
        let started = (|| {
            for index in 0..self.workers {
                shared.start_worker(Some(index))?;
            }
            let accepting = Arc::clone(&shared);
            let listener = self.listener;
            acceptor = Some(
                std::thread::Builder::new()
                    .name("sutegi-accept".into())
                    .spawn(move || accepting.accept_loop(listener))?,
            );
            Ok::<(), io::Error>(())
        })();
        if let Err(error) = started {
            shared.set_phase(Phase::Stopped);
            shared.wake_all_workers();
            return Err(error);
        }
        while !shutdown.load(Ordering::SeqCst) {
            shared.supervise();
        }
        shared.shut_down(acceptor);
        Ok(())
    }
}

fn bind_listener(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit.
fn raise_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            log::warn!("could not raise the open-file limit: {error}");
        }
    }
}

/// Where the server is in its life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Phase {
    Serving = 0,
    /// Shutdown began: health routes answer 503, the listener still accepts
    /// during the drain delay, and every response closes its connection.
    Draining = 1,
    /// The listener is closed.
    Closing = 2,
    /// Workers leave.
    Stopped = 3,
}

struct Shared<H> {
    handler: H,
    limits: Limits,
    /// One per core (or per [`Server::workers`]).
    seats: Box<[Seat]>,
    /// The seat the next accepted connection goes to (round-robin).
    next_seat: AtomicUsize,
    /// Connections open, against `max_connections`.
    open: AtomicUsize,
    acceptor: Acceptor,
    /// Worker threads beyond the holders, and seats waiting for one.
    spares: Mutex<Spares>,
    /// Signalled when a seat becomes vacant, a worker exits, or the server
    /// stops.
    spare_changed: Condvar,
    /// Turn start times are measured from here.
    clock: Instant,
    phase: AtomicU8,
    /// Read by every stream sink: once set, producers are told shutdown
    /// began.
    stop_streams: Arc<AtomicBool>,
    streams: AtomicUsize,
    /// Handlers reading a streamed body now, against `max_streamed_bodies`.
    streamed_bodies: AtomicUsize,
    /// The threads streams run on.
    runners: Arc<StreamRunners>,
    last_sweep: Mutex<Instant>,
}

/// Locks a mutex, going on with the data of a poisoned one: a panic is
/// contained to one connection, and the server keeps serving the others.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<H: Handler> Shared<H> {
    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            0 => Phase::Serving,
            1 => Phase::Draining,
            2 => Phase::Closing,
            _ => Phase::Stopped,
        }
    }

    fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }
}
