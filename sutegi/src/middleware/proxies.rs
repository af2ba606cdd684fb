//! The client behind a proxy: [`TrustedProxies`] believes
//! `X-Forwarded-For` from the peers you name, and only from them, and sets
//! the request's peer address to the client it names.

use crate::server::{Request, Response};

use super::contract::{Middleware, Next};

/// Takes the client's address from `X-Forwarded-For` when, and only
/// when, the request came from one of your proxies.
///
/// Behind nginx or an ingress, [`Request::peer_addr`] is the proxy. The
/// proxy appends the address it saw to `X-Forwarded-For`, but a client can
/// send that header too, so it is only believed from a trusted peer. Walking
/// the list from the right (the entries the proxies appended), the first
/// address that is not itself a trusted proxy is the client; the request's
/// peer address is set to it (port 0, as the header carries none). A
/// request from any other peer, or without a usable header, is left as it
/// came.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use sutegi::middleware::TrustedProxies;
/// use sutegi::{Handler, Method, Request, Router};
///
/// let app = Router::new()
///     .get("/ip", |req: &Request| req.peer_addr().ip().to_string())
///     .layer(TrustedProxies::new([IpAddr::V4(Ipv4Addr::LOCALHOST)]))
///     .into_handler()
///     .unwrap();
/// // Request::new comes from 127.0.0.1, the trusted proxy here.
/// let request = Request::new(Method::Get, "/ip", &[("X-Forwarded-For", "203.0.113.9, 127.0.0.1")], vec![]);
/// assert_eq!(app.handle(request).body().as_bytes(), Some(&b"203.0.113.9"[..]));
/// ```
#[derive(Clone, Debug)]
pub struct TrustedProxies {
    proxies: Vec<std::net::IpAddr>,
}

impl TrustedProxies {
    /// Trusts `X-Forwarded-For` from these peer addresses.
    pub fn new(proxies: impl IntoIterator<Item = std::net::IpAddr>) -> TrustedProxies {
        TrustedProxies {
            proxies: proxies.into_iter().collect(),
        }
    }

    fn trusts(&self, address: std::net::IpAddr) -> bool {
        self.proxies.contains(&address)
    }

    /// The client address the header names, reading it from the right.
    fn client_from(&self, request: &Request) -> Option<std::net::IpAddr> {
        let mut last_hop = None;
        for value in request
            .header_all("x-forwarded-for")
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let text = std::str::from_utf8(value).ok()?;
            for entry in text.rsplit(',').map(str::trim) {
                let address: std::net::IpAddr = entry.parse().ok()?;
                last_hop = Some(address);
                if !self.trusts(address) {
                    return Some(address);
                }
            }
        }
        // Every entry is one of our proxies: the leftmost is the closest
        // thing to a client there is.
        last_hop
    }
}

impl Middleware for TrustedProxies {
    fn handle(&self, request: &mut Request, next: Next<'_>) -> Response {
        if self.trusts(request.peer_addr().ip()) {
            if let Some(client) = self.client_from(request) {
                request.set_peer_addr(std::net::SocketAddr::new(client, 0));
            }
        }
        next.run(request)
    }
}
