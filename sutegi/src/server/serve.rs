//! Serving: the [`Server`] builder, [`serve`] and [`serve_until`], the
//! readiness set the workers take turns at, the stream threads, the
//! deadline sweep, and graceful shutdown.
//!
//! A connection is always in exactly one place: parked in the readiness set
//! (holding no thread), on a worker (a request being answered), or on a
//! stream thread. Workers are leader/follower: one waits on the readiness
//! set while the others wait for their turn to lead, and the worker that
//! learns a socket is readable serves it itself, so an ordinary request
//! costs no hand-off between threads.

use std::collections::VecDeque;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use polling::{Event, Events, Poller};
use slab::Slab;

use super::conn::{
    panic_message, safe_refuse, Conn, Expiry, Interest, Next, ReadBuffer, StreamJob, Turn, Wait,
};
use super::handler::{Handler, IntoHandler};
use super::limits::Limits;
use super::pool::ThreadPool;
use super::request::Version;
use super::runners::StreamRunners;
use super::sink::{Output, StreamSink};
use super::write::{encode_head, Framing};

/// The readiness key of the listening socket. (`polling` reserves
/// `usize::MAX` for its own wake-ups.)
const LISTENER_KEY: usize = usize::MAX - 1;
/// How often the supervisor checks the shutdown flag and sweeps deadlines.
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
/// SIGTERM, then drains in-flight requests (DECISIONS "Shutdown") and
/// returns `Ok`.
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

    /// Sets the number of worker threads (default: 8, or twice the cores
    /// when that is more: handlers block on databases and files, and a pool
    /// sized to the cores would let two slow calls stop the server). Cores
    /// are the CPUs the process's affinity allows, capped by a cgroup v2
    /// CPU limit (a container's `limits.cpu`).
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

    /// Serves `app` until `shutdown` becomes `true`, then drains as
    /// DECISIONS "Shutdown" orders and returns `Ok`.
    pub fn serve_until(self, app: impl IntoHandler, shutdown: &AtomicBool) -> io::Result<()> {
        if let Some(error) = self.deferred_error {
            return Err(error);
        }
        let handler = app.into_server_handler()?;
        self.listener.set_nonblocking(true)?;
        let poller = Poller::new()?;
        // SAFETY: the listener is deleted from the poller before it is
        // dropped (`close_listener`), and it lives in `shared` until then.
        unsafe { poller.add(&self.listener, Event::readable(LISTENER_KEY))? };
        let shared = Arc::new(Shared {
            handler,
            limits: self.limits,
            poller,
            listener: Mutex::new(Some(self.listener)),
            conns: Mutex::new(Slab::new()),
            dispatch: Mutex::new(Dispatch::default()),
            events: Mutex::new(Events::with_capacity(
                NonZeroUsize::new(256).unwrap_or(NonZeroUsize::MIN),
            )),
            workers: self.workers,
            parallelism: cores(),
            phase: AtomicU8::new(Phase::Serving as u8),
            stop_streams: Arc::new(AtomicBool::new(false)),
            streams: AtomicUsize::new(0),
            runners: Arc::default(),
            accept: Mutex::new(AcceptState::default()),
            last_sweep: Mutex::new(Instant::now()),
        });
        let pool = ThreadPool::new(self.workers)?;
        for _ in 0..self.workers {
            let shared = Arc::clone(&shared);
            pool.execute(move || shared.work());
        }
        while !shutdown.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
            shared.tick();
        }
        shared.shut_down(pool);
        Ok(())
    }
}

fn default_workers() -> usize {
    (2 * cores()).max(8)
}

/// The CPUs this process can use: those its affinity allows, capped by a
/// cgroup v2 CPU quota (a container's CPU limit), at least one.
///
/// `std::thread::available_parallelism` answers the same and reads cgroup
/// v1 too, but finding cgroup mounts for that links about 13 KB into every
/// binary; cgroup v2 is what current container runtimes give. Read once per
/// server.
fn cores() -> usize {
    let allowed = rustix::thread::sched_getaffinity(None).map_or(1, |set| set.count() as usize);
    cgroup_cpu_quota()
        .map_or(allowed, |quota| quota.min(allowed))
        .max(1)
}

/// The CPUs this process's cgroup v2 CPU limit grants, if it sets one.
fn cgroup_cpu_quota() -> Option<usize> {
    let mut text = [0u8; 64];
    let len = std::fs::File::open("/sys/fs/cgroup/cpu.max")
        .and_then(|mut file| io::Read::read(&mut file, &mut text))
        .ok()?;
    cpus_of_cpu_max(std::str::from_utf8(&text[..len]).ok()?)
}

/// The CPUs a cgroup v2 `cpu.max` grants, rounded up (`"150000 100000"`:
/// two), or `None` when it sets no limit (`"max 100000"`).
fn cpus_of_cpu_max(text: &str) -> Option<usize> {
    let (max, period) = text.trim_end().split_once(' ')?;
    let (max, period) = (max.parse::<u64>().ok()?, period.parse::<u64>().ok()?);
    (period > 0).then(|| max.div_ceil(period) as usize)
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

/// Where a connection is, by its key in the table.
enum Slot {
    Parked(Box<Conn>),
    /// On a worker.
    Busy,
    /// On a stream thread.
    Streaming,
}

/// How a stream left its connection.
enum StreamEnd {
    /// Ended with the closing chunk on a persistent connection, which waits
    /// for this next.
    Reuse(Box<Conn>, Interest),
    Close(Box<Conn>),
}

/// How workers share the readiness set: at most one waits on it (the
/// leader, holding no lock while it does), what it learns goes into one
/// queue, and awake workers take from the queue before anyone sleeps.
///
/// Waking a sleeping worker costs two futex calls and a context switch, so
/// a sleeper is woken only when the queue has work and fewer workers are
/// awake than the cores can run (plus one, to lead): on a busy server the
/// awake workers drain the queue themselves. A worker stuck in a slow
/// handler still counts as awake; the supervisor's tick wakes a sleeper when
/// work waited a whole tick or nobody led for one, so blocking handlers
/// cannot starve the rest.
///
/// Sleepers wake last-in first-out: the worker that went to sleep most
/// recently has a warm cache and a short sleep behind it, and on a steady
/// load the same few workers keep serving while the rest stay asleep,
/// instead of every worker taking turns (which lengthened the slowest
/// requests' wait for a core).
#[derive(Default)]
struct Dispatch {
    queue: VecDeque<Event>,
    /// A worker is waiting on the readiness set.
    leading: bool,
    /// Workers asleep, the most recent last.
    sleepers: Vec<Arc<Sleeper>>,
    /// Events taken from the queue so far.
    taken: u64,
    /// The count `taken` must reach for every event queued at the last tick
    /// to have been taken.
    taken_by_next_tick: u64,
    /// Turns at leading so far.
    leads: u64,
    /// `leads` at the last tick.
    leads_at_last_tick: u64,
}

/// A sleeping worker's wake-up call.
struct Sleeper {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl Sleeper {
    fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

#[derive(Default)]
struct AcceptState {
    /// Accepting stopped at `max_connections`, until a connection closes.
    at_capacity: bool,
    /// Out of file descriptors: accepting resumes at this time.
    paused_until: Option<Instant>,
    /// The descriptor shortage was logged (once, not per accept).
    logged_shortage: bool,
}

struct Shared<H> {
    handler: H,
    limits: Limits,
    poller: Poller,
    listener: Mutex<Option<TcpListener>>,
    conns: Mutex<Slab<Slot>>,
    dispatch: Mutex<Dispatch>,
    /// The leader's event buffer (only ever locked by the leader).
    events: Mutex<Events>,
    workers: usize,
    parallelism: usize,
    phase: AtomicU8,
    /// Read by every stream sink: once set, the next sink call fails.
    stop_streams: Arc<AtomicBool>,
    streams: AtomicUsize,
    /// The threads streams run on.
    runners: Arc<StreamRunners>,
    accept: Mutex<AcceptState>,
    last_sweep: Mutex<Instant>,
}

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

    /// A worker's life: lead or wait to lead, serve what became ready.
    fn work(self: &Arc<Self>) {
        let mut scratch = ReadBuffer::new();
        let mut out = Vec::with_capacity(1024);
        while let Some(event) = self.next_event() {
            if event.key == LISTENER_KEY {
                self.accept_ready();
                continue;
            }
            let key = event.key;
            let taken = catch_unwind(AssertUnwindSafe(|| {
                self.serve_connection(key, &mut scratch, &mut out)
            }));
            if let Err(panic) = taken {
                // A bug in the server, not the handler (those are caught
                // closer). The connection is lost; the worker is not.
                log::error!("a worker recovered from a panic: {}", panic_message(&panic));
                let mut conns = lock(&self.conns);
                if matches!(conns.get(key), Some(Slot::Busy)) {
                    conns.remove(key);
                }
            }
        }
    }

    /// The next readiness to serve: from the queue, or by leading (waiting
    /// on the readiness set), or after sleeping until there is work. `None`
    /// once the server stops.
    fn next_event(&self) -> Option<Event> {
        let me = Arc::new(Sleeper {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        });
        let mut dispatch = lock(&self.dispatch);
        loop {
            if self.phase() == Phase::Stopped {
                return None;
            }
            if let Some(event) = dispatch.queue.pop_front() {
                dispatch.taken += 1;
                if !dispatch.queue.is_empty() {
                    self.wake_helper(&mut dispatch);
                }
                return Some(event);
            }
            if !dispatch.leading {
                dispatch.leading = true;
                dispatch.leads += 1;
                drop(dispatch);
                let learned = {
                    let mut events = lock(&self.events);
                    events.clear();
                    match self.poller.wait(&mut events, None) {
                        Ok(_) => events.iter().collect::<Vec<Event>>(),
                        Err(error) => {
                            log::error!("waiting for readiness failed: {error}");
                            std::thread::sleep(TICK);
                            Vec::new()
                        }
                    }
                };
                dispatch = lock(&self.dispatch);
                dispatch.leading = false;
                dispatch.queue.extend(learned);
                // Someone must lead while this worker serves what it learned.
                self.wake_helper(&mut dispatch);
                continue;
            }
            me.woken.store(false, Ordering::Relaxed);
            dispatch.sleepers.push(Arc::clone(&me));
            drop(dispatch);
            // `park` may return spuriously; only `Sleeper::wake` ends it.
            while !me.woken.load(Ordering::Acquire) {
                std::thread::park();
            }
            dispatch = lock(&self.dispatch);
        }
    }

    /// Wakes one sleeping worker if fewer are awake than can run.
    fn wake_helper(&self, dispatch: &mut Dispatch) {
        let awake = self.workers - dispatch.sleepers.len();
        if awake <= self.parallelism {
            Self::wake_one(dispatch);
        }
    }

    /// Wakes the most recent sleeper, if any.
    fn wake_one(dispatch: &mut Dispatch) {
        if let Some(sleeper) = dispatch.sleepers.pop() {
            sleeper.wake();
        }
    }

    /// The supervisor's rescue: when an event has waited in the queue for a
    /// whole tick, or nobody has led for a whole tick (so nobody learns of
    /// new work), every awake worker is busy (in slow handlers, say), and a
    /// sleeper is woken. Waking one merely because the queue is not empty
    /// would, under steady load, wake every worker in turn: more runnable
    /// threads than cores, each request waiting longer for a core.
    fn wake_for_stalled_work(&self) {
        let mut dispatch = lock(&self.dispatch);
        let queue_stalled = dispatch.taken < dispatch.taken_by_next_tick;
        let leaderless = !dispatch.leading && dispatch.leads == dispatch.leads_at_last_tick;
        if queue_stalled || leaderless {
            Self::wake_one(&mut dispatch);
        }
        dispatch.taken_by_next_tick = dispatch.taken + dispatch.queue.len() as u64;
        dispatch.leads_at_last_tick = dispatch.leads;
    }

    fn serve_connection(self: &Arc<Self>, key: usize, scratch: &mut ReadBuffer, out: &mut Vec<u8>) {
        let conn = {
            let mut conns = lock(&self.conns);
            match conns.get_mut(key) {
                Some(slot @ Slot::Parked(_)) => match std::mem::replace(slot, Slot::Busy) {
                    Slot::Parked(conn) => conn,
                    _ => unreachable!("matched Parked"),
                },
                // A stale event: the connection moved on or closed.
                _ => return,
            }
        };
        let may_stream = || self.streams.load(Ordering::SeqCst) < self.limits.max_streams;
        // From SIGTERM on, every response closes its connection: a proxy
        // then retires each upstream connection at a response boundary during
        // the drain delay, instead of finding it closed under a request it
        // just sent (which it cannot replay if that was a POST).
        let closing = || self.phase() >= Phase::Draining;
        let mut turn = Turn {
            handler: &self.handler,
            limits: &self.limits,
            closing: &closing,
            may_stream: &may_stream,
            scratch,
            out,
        };
        let next = conn.run(&mut turn);
        self.place(key, next);
    }

    /// Puts a connection where its turn said it goes.
    fn place(self: &Arc<Self>, key: usize, next: Next) {
        match next {
            Next::Park(conn, interest) => self.park(key, conn, interest),
            Next::Close(conn) => self.close(key, conn),
            Next::Stream(conn, job) => self.start_stream(key, conn, job),
        }
    }

    fn park(&self, key: usize, conn: Box<Conn>, interest: Interest) {
        let event = match interest {
            Interest::Read => Event::readable(key),
            Interest::Write => Event::writable(key),
        };
        let mut conns = lock(&self.conns);
        // Arm while holding the table, so the event cannot be served before
        // the connection is findable as parked.
        match self.poller.modify(&conn.socket, event) {
            Ok(()) => {
                if let Some(slot) = conns.get_mut(key) {
                    *slot = Slot::Parked(conn);
                }
            }
            Err(error) => {
                log::debug!("could not re-arm a connection: {error}");
                drop(conns);
                self.close(key, conn);
            }
        }
    }

    fn close(&self, key: usize, conn: Box<Conn>) {
        let _ = self.poller.delete(&conn.socket);
        drop(conn);
        let resumed = {
            let mut conns = lock(&self.conns);
            if conns.contains(key) {
                conns.remove(key);
            }
            let mut accept = lock(&self.accept);
            std::mem::take(&mut accept.at_capacity)
        };
        if resumed {
            self.arm_listener();
        }
    }

    fn arm_listener(&self) {
        if let Some(listener) = lock(&self.listener).as_ref() {
            let _ = self.poller.modify(listener, Event::readable(LISTENER_KEY));
        }
    }

    fn accept_ready(&self) {
        let guard = lock(&self.listener);
        let Some(listener) = guard.as_ref() else {
            return;
        };
        for _ in 0..256 {
            if lock(&self.conns).len() >= self.limits.max_connections {
                lock(&self.accept).at_capacity = true;
                return;
            }
            match listener.accept() {
                Ok((socket, peer)) => self.register(socket, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                    // ENFILE / EMFILE: pause instead of spinning on a
                    // listener that stays readable.
                    let mut accept = lock(&self.accept);
                    accept.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    if !std::mem::replace(&mut accept.logged_shortage, true) {
                        log::warn!("out of file descriptors; accepting pauses briefly: {e}");
                    }
                    return;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    break;
                }
            }
        }
        let _ = self.poller.modify(listener, Event::readable(LISTENER_KEY));
    }

    fn register(&self, socket: TcpStream, peer: SocketAddr) {
        if socket.set_nonblocking(true).is_err() {
            return;
        }
        let _ = socket.set_nodelay(true);
        // The kernel drops a connection whose sent data stays unacknowledged
        // (a closed receive window included) for `write_timeout`. Blocking
        // write timeouts alone cannot tell a client that reads nothing: the
        // kernel keeps taking a little more into a growing send buffer now
        // and then, so no single write blocks for the whole timeout and a
        // stream to such a client would flow (into a few MiB of buffer)
        // forever.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ =
            socket2::SockRef::from(&socket).set_tcp_user_timeout(Some(self.limits.write_timeout));
        let mut conns = lock(&self.conns);
        let entry = conns.vacant_entry();
        let key = entry.key();
        // SAFETY: every connection is deleted from the poller before its
        // socket is dropped (`close`, `sweep`, `shut_down`); a stream thread
        // keeps the socket registered (disarmed) and hands it back or
        // closes it through `close`.
        let added = unsafe { self.poller.add(&socket, Event::readable(key)) };
        match added {
            Ok(()) => {
                entry.insert(Slot::Parked(Box::new(Conn::new(
                    socket,
                    peer,
                    &self.limits,
                ))));
            }
            Err(error) => log::warn!("could not watch a new connection: {error}"),
        }
    }

    fn start_stream(self: &Arc<Self>, key: usize, conn: Box<Conn>, job: StreamJob) {
        self.streams.fetch_add(1, Ordering::SeqCst);
        if let Some(slot) = lock(&self.conns).get_mut(key) {
            *slot = Slot::Streaming;
        }
        let shared = Arc::clone(self);
        let started = self.runners.run(Box::new(move || {
            let next = shared.run_stream(conn, job);
            shared.streams.fetch_sub(1, Ordering::SeqCst);
            match next {
                StreamEnd::Reuse(conn, interest) => shared.park(key, conn, interest),
                StreamEnd::Close(conn) => {
                    let _ = conn.socket.shutdown(Shutdown::Both);
                    shared.close(key, conn);
                }
            }
        }));
        if let Err(error) = started {
            log::error!("could not start a stream thread: {error}");
            self.streams.fetch_sub(1, Ordering::SeqCst);
            let mut conns = lock(&self.conns);
            if conns.contains(key) {
                conns.remove(key);
            }
        }
    }

    /// Runs a stream's producer on this (stream) thread, and says whether
    /// the connection may carry another request.
    fn run_stream(&self, conn: Box<Conn>, job: StreamJob) -> StreamEnd {
        let StreamJob {
            status,
            headers,
            producer,
            framing,
        } = job;
        let key_closer = StreamEnd::Close;
        let socket = &conn.socket;
        if socket.set_nonblocking(false).is_err()
            || socket
                .set_write_timeout(Some(self.limits.write_timeout))
                .is_err()
        {
            return key_closer(conn);
        }
        let mut head = Vec::with_capacity(256);
        let keep = encode_head(&mut head, status, &headers, None, framing);
        if std::io::Write::write_all(&mut &conn.socket, &head).is_err() {
            return key_closer(conn);
        }
        let Ok(output) = conn.socket.try_clone() else {
            return key_closer(conn);
        };
        let chunked = framing.version == Version::Http11;
        let mut sink = StreamSink::new(
            Output::Socket(output),
            chunked,
            Arc::clone(&self.stop_streams),
            self.limits.sse_keep_alive,
            self.limits.write_timeout,
        );
        let produced = catch_unwind(AssertUnwindSafe(|| producer(&mut sink)));
        let clean_end = {
            let mut writer = sink
                .shared()
                .writer
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let ended = match &produced {
                Ok(Ok(())) => writer.finish().is_ok(),
                // Told to stop by shutdown: end cleanly, so the client
                // knows the stream is whole so far and reconnects.
                Ok(Err(_)) if self.stop_streams.load(Ordering::SeqCst) => writer.finish().is_ok(),
                // The producer's own error (a file that shrank, a failed
                // upstream): cut, so the client does not take a partial
                // answer for a complete one.
                Ok(Err(_)) => false,
                Err(panic) => {
                    // Cut without the closing chunk: the client sees a cut,
                    // not a complete stream.
                    log::error!("a stream's producer panicked: {}", panic_message(panic));
                    false
                }
            };
            // Drop the duplicate descriptor now, whoever still holds the sink.
            writer.output = Output::Detached;
            ended
        };
        if let Ok(Err(error)) = &produced {
            log::debug!("a stream ended early: {error}");
        }
        if clean_end && keep && chunked && self.phase() < Phase::Closing {
            let mut conn = conn;
            if let Ok(interest) = conn.resume_after_stream(&self.limits) {
                return StreamEnd::Reuse(conn, interest);
            }
            return key_closer(conn);
        }
        key_closer(conn)
    }

    /// The supervisor's periodic work: deadlines and accept back-off.
    fn tick(&self) {
        self.wake_for_stalled_work();
        let now = Instant::now();
        let resume = {
            let mut accept = lock(&self.accept);
            match accept.paused_until {
                Some(until) if until <= now => {
                    accept.paused_until = None;
                    true
                }
                _ => false,
            }
        };
        if resume {
            self.arm_listener();
        }
        let due = {
            let mut last = lock(&self.last_sweep);
            let due = now.duration_since(*last) >= SWEEP_EVERY;
            if due {
                *last = now;
            }
            due
        };
        if due {
            self.sweep(now);
        }
    }

    /// Closes parked connections whose deadline passed; a request that
    /// stopped arriving is answered 408 first.
    fn sweep(&self, now: Instant) {
        let expired: Vec<(usize, Box<Conn>)> = {
            let mut conns = lock(&self.conns);
            let keys: Vec<usize> = conns
                .iter()
                .filter_map(|(key, slot)| match slot {
                    Slot::Parked(conn) if conn.deadline <= now => Some(key),
                    _ => None,
                })
                .collect();
            keys.into_iter()
                .filter_map(|key| match conns.remove(key) {
                    Slot::Parked(conn) => Some((key, conn)),
                    _ => None,
                })
                .collect()
        };
        let mut head = Vec::new();
        for (_, conn) in expired {
            let _ = self.poller.delete(&conn.socket);
            if conn.expiry() == Expiry::Timeout {
                let response =
                    safe_refuse(&self.handler, 408, "the request did not arrive in time");
                head.clear();
                let framing = Framing {
                    version: Version::Http11,
                    head_only: false,
                    keep_alive: false,
                };
                let body = response.body().as_bytes().unwrap_or_default().to_vec();
                encode_head(
                    &mut head,
                    response.status(),
                    &response.headers,
                    Some(body.len()),
                    framing,
                );
                head.extend_from_slice(&body);
                let _ = std::io::Write::write(&mut &conn.socket, &head);
                let _ = conn.socket.shutdown(Shutdown::Write);
            }
            log::debug!(
                "closed a connection from {} at its deadline ({:?})",
                conn.peer(),
                conn.wait
            );
        }
        let at_capacity = std::mem::take(&mut lock(&self.accept).at_capacity);
        if at_capacity {
            self.arm_listener();
        }
    }

    /// Graceful shutdown, in DECISIONS' order.
    fn shut_down(self: &Arc<Self>, pool: ThreadPool) {
        let started = Instant::now();
        self.set_phase(Phase::Draining);
        let _ = catch_unwind(AssertUnwindSafe(|| self.handler.shutdown_started()));
        // 1. Keep serving (health answers 503) for the drain delay.
        while started.elapsed() < self.limits.drain_delay {
            std::thread::sleep(TICK);
            self.tick();
        }
        // 2. Take what is in the backlog, then close the listener.
        if let Some(listener) = lock(&self.listener).take() {
            while let Ok((socket, peer)) = listener.accept() {
                self.register(socket, peer);
            }
            let _ = self.poller.delete(&listener);
        }
        self.set_phase(Phase::Closing);
        self.stop_streams.store(true, Ordering::SeqCst);
        self.close_idle_connections();
        // 3. In-flight requests finish within the grace period.
        let deadline = Instant::now() + self.limits.shutdown_grace;
        while Instant::now() < deadline {
            if lock(&self.conns).is_empty() && self.streams.load(Ordering::SeqCst) == 0 {
                break;
            }
            std::thread::sleep(TICK);
            self.tick();
        }
        let left = lock(&self.conns).len();
        if left > 0 {
            log::warn!("shutdown grace over; abandoning {left} connection(s) still in flight");
        }
        self.set_phase(Phase::Stopped);
        self.runners.close();
        let _ = self.poller.notify();
        {
            let mut dispatch = lock(&self.dispatch);
            while !dispatch.sleepers.is_empty() {
                Self::wake_one(&mut dispatch);
            }
        }
        let stuck = pool.join_within(Duration::from_secs(1));
        if stuck > 0 {
            log::warn!("{stuck} worker(s) were still busy when the server stopped");
        }
    }

    /// At shutdown: connections idle since their last response close now;
    /// those with request bytes here or readable stay to be served; those
    /// that have sent nothing yet get a short grace for their first bytes.
    fn close_idle_connections(&self) {
        let now = Instant::now();
        let idle: Vec<(usize, Box<Conn>)> = {
            let mut conns = lock(&self.conns);
            let mut idle_keys = Vec::new();
            for (key, slot) in conns.iter_mut() {
                let Slot::Parked(conn) = slot else { continue };
                if conn.has_request_in_flight() || conn.wait == Wait::Lingering {
                    continue;
                }
                let mut probe = [0u8; 1];
                match conn.socket.peek(&mut probe) {
                    Ok(n) if n > 0 => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && conn.wait == Wait::New => {
                        conn.shorten_deadline(now + FIRST_BYTES_GRACE);
                    }
                    _ => idle_keys.push(key),
                }
            }
            idle_keys
                .into_iter()
                .filter_map(|key| match conns.remove(key) {
                    Slot::Parked(conn) => Some((key, conn)),
                    _ => None,
                })
                .collect()
        };
        for (_, conn) in idle {
            let _ = self.poller.delete(&conn.socket);
            let _ = conn.socket.shutdown(Shutdown::Both);
        }
    }
}

impl<H> Drop for Shared<H> {
    fn drop(&mut self) {
        // Deregister whatever is left before the sockets close.
        let conns = self.conns.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, slot) in conns.iter() {
            if let Slot::Parked(conn) = slot {
                let _ = self.poller.delete(&conn.socket);
            }
        }
        if let Some(listener) = self
            .listener
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = self.poller.delete(listener);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_cpu_limit_counts_whole_cpus_rounded_up() {
        assert_eq!(cpus_of_cpu_max("200000 100000\n"), Some(2));
        assert_eq!(cpus_of_cpu_max("150000 100000\n"), Some(2));
        assert_eq!(cpus_of_cpu_max("50000 100000\n"), Some(1));
        assert_eq!(cpus_of_cpu_max("max 100000\n"), None);
        assert_eq!(cpus_of_cpu_max("100000 0\n"), None);
        assert_eq!(cpus_of_cpu_max(""), None);
    }

    #[test]
    fn cores_are_at_least_one_and_at_most_what_affinity_allows() {
        let allowed = rustix::thread::sched_getaffinity(None).map_or(1, |set| set.count() as usize);
        let cores = cores();
        assert!(
            (1..=allowed.max(1)).contains(&cores),
            "{cores} of {allowed}"
        );
    }
}
