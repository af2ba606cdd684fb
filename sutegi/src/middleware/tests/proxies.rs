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

fn client_ip(app: &RouterHandler, peer: std::net::IpAddr, forwarded: &str) -> String {
    let headers = [("X-Forwarded-For", forwarded)];
    let mut request = Request::new(Method::Get, "/ip", &headers, Vec::new());
    request.set_peer_addr(std::net::SocketAddr::new(peer, 5000));
    body_text(&app.handle(request))
}

fn ip_app(proxies: TrustedProxies) -> RouterHandler {
    Router::new()
        .get("/ip", |req: &Request| req.peer_addr().ip().to_string())
        .layer(proxies)
        .into_handler()
        .unwrap()
}

#[test]
fn cidr_ranges_are_trusted_whole() {
    let app = ip_app(
        TrustedProxies::new([])
            .range("10.0.0.0/8")
            .range("fd00::/8"),
    );
    let pod: std::net::IpAddr = "10.42.7.3".parse().unwrap();
    let v6: std::net::IpAddr = "fd12::9".parse().unwrap();
    let outside: std::net::IpAddr = "11.0.0.1".parse().unwrap();
    assert_eq!(client_ip(&app, pod, "203.0.113.9, 10.1.2.3"), "203.0.113.9");
    assert_eq!(client_ip(&app, v6, "2001:db8::5, fd00::1"), "2001:db8::5");
    assert_eq!(client_ip(&app, outside, "203.0.113.9"), "11.0.0.1");
    // A /0 trusts everything; a /32 one address.
    let all = ip_app(TrustedProxies::new([]).range("0.0.0.0/0"));
    assert_eq!(client_ip(&all, outside, "203.0.113.9"), "203.0.113.9");
    let one = ip_app(TrustedProxies::new([]).range("10.0.0.1/32"));
    assert_eq!(client_ip(&one, pod, "203.0.113.9"), "10.42.7.3");
}

#[test]
fn ipv4_mapped_addresses_count_as_ipv4_on_both_sides() {
    let mapped_peer: std::net::IpAddr = "::ffff:10.0.0.1".parse().unwrap();
    let by_v4 = ip_app(TrustedProxies::new(["10.0.0.1".parse().unwrap()]));
    assert_eq!(client_ip(&by_v4, mapped_peer, "203.0.113.9"), "203.0.113.9");
    let by_mapped_range = ip_app(TrustedProxies::new([]).range("::ffff:10.0.0.0/104"));
    let v4_peer: std::net::IpAddr = "10.9.9.9".parse().unwrap();
    assert_eq!(
        client_ip(&by_mapped_range, v4_peer, "203.0.113.9"),
        "203.0.113.9"
    );
    // A mapped entry in the header is a proxy of the list too, and a
    // mapped client comes out as IPv4.
    assert_eq!(
        client_ip(&by_v4, mapped_peer, "::ffff:198.51.100.7, ::ffff:10.0.0.1"),
        "198.51.100.7"
    );
}

#[test]
fn malformed_entries_are_skipped_not_fatal() {
    let proxy: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let app = ip_app(TrustedProxies::new([proxy]));
    assert_eq!(
        client_ip(&app, proxy, "198.51.100.7, not-an-ip, 10.0.0.1"),
        "198.51.100.7"
    );
    assert_eq!(
        client_ip(&app, proxy, "198.51.100.7, , 10.0.0.1"),
        "198.51.100.7"
    );
    // An entry with a port, as some proxies write it, is its address.
    assert_eq!(client_ip(&app, proxy, "198.51.100.7:4711"), "198.51.100.7");
    assert_eq!(client_ip(&app, proxy, "[2001:db8::1]:80"), "2001:db8::1");
    // Nothing usable: the peer stays.
    assert_eq!(client_ip(&app, proxy, "garbage"), "10.0.0.1");
}

#[test]
fn a_malformed_range_refuses_the_router() {
    for bad in ["10.0.0.0/33", "10.0.0/8", "fd00::/129", "10.0.0.0/", "x"] {
        let error = Router::new()
            .layer(TrustedProxies::new([]).range(bad))
            .into_handler()
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("`{bad}`")) && message.contains("CIDR"),
            "{message}"
        );
    }
}
