//! The client behind a proxy: [`TrustedProxies`] believes
//! `X-Forwarded-For` from the peers you name (addresses or CIDR ranges),
//! and only from them, and sets the request's peer address to the client
//! it names. IPv4 addresses seen as IPv6 (`::ffff:a.b.c.d`, as a
//! dual-stack listener reports them) count as the IPv4 address they carry,
//! on both the peer and the list.

use std::net::{IpAddr, SocketAddr};

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
/// peer address is set to it (port 0, as the header carries none). An
/// entry that is not an address is skipped, with a log line (a warning,
/// once per request). A request from any other peer, or without a usable
/// header, is left as it came.
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
///
/// Proxies in a pod network or a subnet are a range:
///
/// ```
/// use sutegi::middleware::TrustedProxies;
/// let proxies = TrustedProxies::new([]).range("10.0.0.0/8").range("fd00::/8");
/// # let _ = proxies;
/// ```
#[derive(Clone, Debug)]
pub struct TrustedProxies {
    ranges: Vec<IpRange>,
    /// Ranges given that do not parse, reported when the router is built.
    malformed: Vec<String>,
}

/// An address range, `network/prefix_len`, its address canonical (an
/// IPv4-mapped IPv6 range stored as the IPv4 one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IpRange {
    network: IpAddr,
    prefix_len: u8,
}

impl IpRange {
    /// `10.0.0.0/8`, `fd00::/8`, or a single address.
    fn parse(text: &str) -> Option<IpRange> {
        let text = text.trim();
        let (address, prefix_len) = match text.split_once('/') {
            Some((address, len)) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => {
                (address.parse::<IpAddr>().ok()?, len.parse::<u8>().ok()?)
            }
            Some(_) => return None,
            None => {
                let address = text.parse::<IpAddr>().ok()?;
                (address, if address.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return None;
        }
        Some(IpRange::new(address, prefix_len))
    }

    fn new(address: IpAddr, prefix_len: u8) -> IpRange {
        match (address, canonical(address)) {
            // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
            (IpAddr::V6(_), IpAddr::V4(v4)) if prefix_len >= 96 => IpRange {
                network: IpAddr::V4(v4),
                prefix_len: prefix_len - 96,
            },
            _ => IpRange {
                network: address,
                prefix_len,
            },
        }
    }

    fn single(address: IpAddr) -> IpRange {
        let address = canonical(address);
        IpRange::new(address, if address.is_ipv4() { 32 } else { 128 })
    }

    /// Whether `address` (already canonical) is in the range.
    fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it
/// carries; any other address as it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port
/// (`203.0.113.9:4711`, `[2001:db8::1]:4711`), as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

impl TrustedProxies {
    /// Trusts `X-Forwarded-For` from these peer addresses.
    pub fn new(proxies: impl IntoIterator<Item = IpAddr>) -> TrustedProxies {
        TrustedProxies {
            ranges: proxies.into_iter().map(IpRange::single).collect(),
            malformed: Vec::new(),
        }
    }

    /// Also trusts every peer in `range`, a CIDR range (`10.0.0.0/8`,
    /// `fd00::/8`) or a single address. A range that does not parse makes
    /// [`Router::into_handler`](crate::Router::into_handler) (and `serve`)
    /// refuse the router, naming it.
    pub fn range(mut self, range: &str) -> TrustedProxies {
        match IpRange::parse(range) {
            Some(parsed) => self.ranges.push(parsed),
            None => self.malformed.push(range.to_owned()),
        }
        self
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.ranges.iter().any(|range| range.contains(address))
    }

    /// The client address the header names, reading it from the right.
    fn client_from(&self, request: &Request) -> Option<IpAddr> {
        let mut last_hop = None;
        let mut reported = false;
        let values: Vec<&[u8]> = request.header_all("x-forwarded-for").collect();
        for value in values.into_iter().rev() {
            let text = String::from_utf8_lossy(value);
            for entry in text.rsplit(',').map(str::trim) {
                let Some(address) = parse_entry(entry) else {
                    if !reported {
                        reported = true;
                        log::warn!(
                            "X-Forwarded-For from trusted proxy {} holds {:?}, which is not an address: entry skipped",
                            request.peer_addr(),
                            entry
                        );
                    }
                    continue;
                };
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
                request.set_peer_addr(SocketAddr::new(client, 0));
            }
        }
        next.run(request)
    }

    /// Refuses ranges that do not parse: a typo must not silently trust
    /// nobody (or everybody).
    fn check(&self) -> Result<(), String> {
        if self.malformed.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} is not an address or a CIDR range (`10.0.0.0/8`, `fd00::/8`)",
            self.malformed
                .iter()
                .map(|range| format!("`{range}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}
