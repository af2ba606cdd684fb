//! A set of non-blocking client connections watched by one `polling`
//! poller, so one thread can hold 10,000 idle sockets or 1,000 SSE streams
//! (a thread per socket would measure our own scheduler, not the server).
//! Each connection carries the scenario's own state `T`. Interest is
//! level-triggered readability only: a scenario reads once per event and
//! the poller reports the socket again while bytes remain, which keeps the
//! loops simple and fair between sockets. Writes are small request heads,
//! written before a socket joins the set or one byte at a time.

use std::{
    io::{self, Read},
    net::{SocketAddr, TcpStream},
    num::NonZeroUsize,
    time::Duration,
};

use polling::{Event, Events, PollMode, Poller};

pub struct Pool<T> {
    poller: Poller,
    events: Events,
    slots: Vec<Option<(TcpStream, T)>>,
    open: usize,
}

/// What one read returned.
pub enum Read1 {
    Data(usize),
    Eof,
    /// Nothing there right now.
    Empty,
    Error(io::ErrorKind),
}

impl Read1 {
    /// How a connection ended, for failure reasons.
    pub fn ending(&self) -> String {
        match self {
            Read1::Eof => "closed by the server".into(),
            Read1::Error(kind) => format!("read error: {kind}"),
            Read1::Data(_) | Read1::Empty => "open".into(),
        }
    }
}

impl<T> Pool<T> {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            poller: Poller::new()?,
            events: Events::with_capacity(NonZeroUsize::new(1024).unwrap()),
            slots: Vec::new(),
            open: 0,
        })
    }

    /// Adds a connected stream (made non-blocking) and returns its key.
    pub fn insert(&mut self, stream: TcpStream, data: T) -> io::Result<usize> {
        stream.set_nonblocking(true)?;
        let key = self.slots.len();
        // SAFETY: the stream is owned by `slots` and deleted from the poller
        // in `remove` (or `Drop`) before it is closed.
        unsafe {
            self.poller
                .add_with_mode(&stream, Event::readable(key), PollMode::Level)?;
        }
        self.slots.push(Some((stream, data)));
        self.open += 1;
        Ok(key)
    }

    pub fn get_mut(&mut self, key: usize) -> Option<(&mut TcpStream, &mut T)> {
        self.slots.get_mut(key)?.as_mut().map(|(s, d)| (s, d))
    }

    /// Closes a connection (our side), returning its state.
    pub fn remove(&mut self, key: usize) -> Option<T> {
        let (stream, data) = self.slots.get_mut(key)?.take()?;
        let _ = self.poller.delete(&stream);
        self.open -= 1;
        Some(data)
    }

    pub fn open(&self) -> usize {
        self.open
    }

    /// Keys of the open connections.
    pub fn keys(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&k| self.slots[k].is_some())
            .collect()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut TcpStream, &mut T)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(k, s)| s.as_mut().map(|(st, d)| (k, st, d)))
    }

    /// Waits up to `timeout` and returns the keys that are readable (or
    /// closed, or in error: a read tells which).
    pub fn wait(&mut self, timeout: Duration) -> io::Result<Vec<usize>> {
        self.events.clear();
        match self.poller.wait(&mut self.events, Some(timeout)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(self.events.iter().map(|e| e.key).collect())
    }

    /// One non-blocking read on `key` into `buf`.
    pub fn read(&mut self, key: usize, buf: &mut [u8]) -> Read1 {
        let Some((stream, _)) = self.get_mut(key) else {
            return Read1::Empty;
        };
        read1(stream, buf)
    }
}

pub fn read1(stream: &mut TcpStream, buf: &mut [u8]) -> Read1 {
    loop {
        return match stream.read(buf) {
            Ok(0) => Read1::Eof,
            Ok(n) => Read1::Data(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read1::Empty,
            Err(e) => Read1::Error(e.kind()),
        };
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        for slot in self.slots.iter_mut() {
            if let Some((stream, _)) = slot.take() {
                let _ = self.poller.delete(&stream);
            }
        }
    }
}

/// A blocking connect with a deadline (a listener whose backlog is full
/// drops SYNs, and the kernel's retry would otherwise wait a second or
/// more); Nagle off, since every write here is a complete small message.
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    Ok(s)
}
