//! Opening a WebSocket route in process: the handshake goes through the
//! same path as every test request, and a 101's socket handler runs on a
//! thread of its own over a loopback socket pair (127.0.0.1), with
//! `tungstenite` as the client's framing.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role};

use super::{TestRequest, TestResponse};
use crate::server::{Body, Upgraded};
use crate::ws::Message;

/// How long a test socket waits for the server's next frame.
const READ_WAIT: Duration = Duration::from_secs(10);

/// The client's end of a WebSocket opened with
/// [`TestRequest::websocket`]: send and receive messages, close.
///
/// ```
/// use sutegi::test::TestClient;
/// use sutegi::ws::Message;
/// use sutegi::{routes, ws, WebSocket};
///
/// #[ws("/echo")]
/// fn echo(ws: &mut WebSocket) -> std::io::Result<()> {
///     while let Some(message) = ws.recv()? {
///         ws.send(message)?;
///     }
///     Ok(())
/// }
///
/// let client = TestClient::new(routes![echo]);
/// let mut socket = client.get("/echo").websocket().unwrap();
/// socket.send_text("hi").unwrap();
/// assert_eq!(socket.recv().unwrap(), Some(Message::Text("hi".into())));
/// assert_eq!(socket.close(1000).unwrap(), Some(1000));
/// assert_eq!(client.get("/echo").send().status(), 426);
/// ```
pub struct TestWebSocket {
    socket: tungstenite::WebSocket<TcpStream>,
    handler: Option<JoinHandle<()>>,
    headers: Vec<(String, String)>,
    /// The server's Close, once it came (its code, if it had one).
    server_close: Option<Option<u16>>,
}

impl TestRequest<'_> {
    /// Sends this request as a WebSocket opening handshake (the
    /// `Upgrade`, `Connection`, `Sec-WebSocket-Key` and
    /// `Sec-WebSocket-Version` fields are added) and, on a 101, runs the
    /// route's socket on a thread of its own. Any other answer (426, 403,
    /// an extractor's 400, …) comes back as the `Err` response.
    #[track_caller]
    pub fn websocket(self) -> Result<TestWebSocket, TestResponse> {
        let limits = self.client.limits.clone();
        let mut response = self
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
            .respond();
        if !response.is_upgrade() {
            return Err(TestResponse::collect(response, false));
        }
        let headers = response
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let Body::Upgrade(on_upgrade) = response.take_body() else {
            unreachable!("checked is_upgrade above")
        };
        let (client, server) = loopback_pair().expect("a loopback socket pair for the test");
        client
            .set_read_timeout(Some(READ_WAIT))
            .expect("a read timeout");
        let upgraded = Upgraded::new(server, Vec::new(), Arc::new(AtomicBool::new(false)), limits);
        let handler = std::thread::spawn(move || on_upgrade(upgraded));
        Ok(TestWebSocket {
            socket: tungstenite::WebSocket::from_raw_socket(client, Role::Client, None),
            handler: Some(handler),
            headers,
            server_close: None,
        })
    }
}

fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

impl TestWebSocket {
    /// The first value of a header of the 101 (`Sec-WebSocket-Protocol`, …).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send_raw(tungstenite::Message::Text(text.into()))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.send_raw(tungstenite::Message::Binary(bytes.to_vec().into()))
    }

    /// Sends any `tungstenite` message (a ping, a raw frame).
    pub fn send_raw(&mut self, message: tungstenite::Message) -> io::Result<()> {
        self.socket.send(message).map_err(io::Error::other)
    }

    /// The next text or binary message; `Ok(None)` once the server closed
    /// (its code is then [`close`](TestWebSocket::close)'s to read). Pings
    /// are answered and pongs skipped.
    pub fn recv(&mut self) -> io::Result<Option<Message>> {
        self.next().map(|next| match next {
            Next::Message(message) => Some(message),
            Next::Closed(_) => None,
        })
    }

    /// Sends a Close with `code` (unless the server closed first) and
    /// returns the code of the server's Close, waiting for the socket's
    /// handler to return.
    pub fn close(mut self, code: u16) -> io::Result<Option<u16>> {
        let _ = self.socket.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        }));
        let code = loop {
            if let Some(code) = self.server_close {
                break code;
            }
            match self.next() {
                Ok(Next::Closed(code)) => break code,
                Ok(Next::Message(_)) => {}
                Err(error) => return Err(error),
            }
        };
        if let Some(handler) = self.handler.take() {
            let _ = handler.join();
        }
        Ok(code)
    }

    fn next(&mut self) -> io::Result<Next> {
        if let Some(code) = self.server_close {
            return Ok(Next::Closed(code));
        }
        let next = self.read_next();
        if let Ok(Next::Closed(code)) = &next {
            self.server_close = Some(*code);
        }
        next
    }

    fn read_next(&mut self) -> io::Result<Next> {
        loop {
            match self.socket.read() {
                Ok(tungstenite::Message::Text(text)) => {
                    return Ok(Next::Message(Message::Text(text.as_str().to_owned())))
                }
                Ok(tungstenite::Message::Binary(bytes)) => {
                    return Ok(Next::Message(Message::Binary(bytes.into())))
                }
                Ok(tungstenite::Message::Close(frame)) => {
                    return Ok(Next::Closed(frame.map(|f| u16::from(f.code))))
                }
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ok(Next::Closed(None))
                }
                Err(tungstenite::Error::Io(error)) => return Err(error),
                Err(error) => return Err(io::Error::other(error)),
            }
        }
    }
}

enum Next {
    Message(Message),
    Closed(Option<u16>),
}

impl std::fmt::Debug for TestWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestWebSocket").finish_non_exhaustive()
    }
}
