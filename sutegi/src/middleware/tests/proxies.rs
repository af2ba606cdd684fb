//! Trusted proxies: the client taken from `X-Forwarded-For` only from a
//! trusted peer.

use super::*;

#[test]
fn trusted_proxies_take_the_client_from_x_forwarded_for() {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let app = Router::new()
        .get("/ip", |req: &Request| req.peer_addr().ip().to_string())
        .layer(TrustedProxies::new([proxy]))
        .into_handler()
        .unwrap();
    let ask = |peer: IpAddr, forwarded: &[&str]| {
        let headers: Vec<(&str, &str)> =
            forwarded.iter().map(|v| ("X-Forwarded-For", *v)).collect();
        let mut request = Request::new(Method::Get, "/ip", &headers, Vec::new());
        request.set_peer_addr(SocketAddr::new(peer, 5000));
        body_text(&app.handle(request))
    };
    // From the proxy: the rightmost address that is not a proxy.
    assert_eq!(ask(proxy, &["198.51.100.7"]), "198.51.100.7");
    assert_eq!(
        ask(proxy, &["1.2.3.4, 198.51.100.7, 10.0.0.1"]),
        "198.51.100.7"
    );
    assert_eq!(ask(proxy, &["1.2.3.4", "198.51.100.7"]), "198.51.100.7");
    // A header from anyone else is ignored: clients can send it too.
    let stranger = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50));
    assert_eq!(ask(stranger, &["1.2.3.4"]), "192.0.2.50");
    // Garbage or nothing: the peer stays.
    assert_eq!(ask(proxy, &["not-an-ip"]), "10.0.0.1");
    assert_eq!(ask(proxy, &[]), "10.0.0.1");
}
