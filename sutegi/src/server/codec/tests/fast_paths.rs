//! The head's fast paths against plain statements of what they decide:
//! the one-pass `Host` check against the full RFC 3986 grammar, and the
//! word-at-a-time search for `?` and `#` against a byte loop. Exhaustive
//! over short values of the bytes that matter, then random bytes.

use super::super::head::{
    find_query_and_fragment, is_uri_host_and_port, is_uri_host_and_port_in_full,
};
use super::*;

/// Every value of up to `len` bytes over `alphabet`.
fn every_value(alphabet: &[u8], len: usize) -> Vec<Vec<u8>> {
    let mut values = vec![Vec::new()];
    let mut last = vec![Vec::new()];
    for _ in 0..len {
        last = last
            .iter()
            .flat_map(|value: &Vec<u8>| {
                alphabet.iter().map(move |&b| {
                    let mut longer = value.clone();
                    longer.push(b);
                    longer
                })
            })
            .collect();
        values.extend(last.iter().cloned());
    }
    values
}

/// A byte loop: the first `?`, or `(None, true)` for a `#` anywhere.
fn query_and_fragment_by_bytes(target: &[u8]) -> (Option<usize>, bool) {
    if target.contains(&b'#') {
        return (None, true);
    }
    (target.iter().position(|&b| b == b'?'), false)
}

#[test]
fn the_one_pass_host_check_agrees_with_the_grammar() {
    // Bytes of each class the grammar tells apart, and a few it refuses.
    for value in every_value(b"a1:%[]v.F@ -", 5) {
        assert_eq!(
            is_uri_host_and_port(&value),
            is_uri_host_and_port_in_full(&value),
            "{:?}",
            String::from_utf8_lossy(&value)
        );
    }
    for (value, valid) in [
        (&b"localhost:8080"[..], true),
        (b"127.0.0.1:8080", true),
        (b"example.com", true),
        (b"example.com:", true),
        (b"", true),
        (b"%41b.example:80", true),
        (b"[::1]:8080", true),
        (b"[v1.x]", true),
        (b"a:80:80", false),
        (b"a:8x", false),
        (b"user@host", false),
        (b"%4", false),
        (b"[::1", false),
        (b"a b", false),
    ] {
        assert_eq!(is_uri_host_and_port(value), valid, "{value:?}");
    }
}

#[test]
fn the_word_search_finds_query_and_fragment_as_a_byte_loop_does() {
    // Lengths across word boundaries, `?` and `#` in every position, and
    // bytes one off from them (borrows in the word arithmetic).
    for value in every_value(b"?#\x01\"@>/", 5) {
        assert_eq!(
            find_query_and_fragment(&value),
            query_and_fragment_by_bytes(&value),
            "{value:?}"
        );
    }
    for len in 0..40 {
        for at in 0..len {
            for (marked, byte) in [(b'?', b'?'), (b'#', b'#')] {
                let mut value = vec![b'a'; len];
                value[at] = byte;
                // Another mark later, and a 0x01 just above the first one.
                if at + 1 < len {
                    value[at + 1] = 0x01;
                }
                if at + 9 < len {
                    value[at + 9] = marked;
                }
                assert_eq!(
                    find_query_and_fragment(&value),
                    query_and_fragment_by_bytes(&value),
                    "{value:?}"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn host_check_and_target_search_agree_on_any_bytes(
        value in proptest::collection::vec(any::<u8>(), 0..40)
    ) {
        prop_assert_eq!(is_uri_host_and_port(&value), is_uri_host_and_port_in_full(&value));
        prop_assert_eq!(find_query_and_fragment(&value), query_and_fragment_by_bytes(&value));
    }
}
