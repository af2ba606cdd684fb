//! Short type names for messages: `alloc::string::String` reads `String`.
//!
//! The one place the crate shortens `std::any::type_name` output, so every
//! message (a capture that does not parse, a missing state, a handler or a
//! middleware named in the route table) words a type the same way. It
//! depends on nothing in the crate.

/// `alloc::string::String` → `String`, `u64` → `u64`; generic types keep
/// their full name.
pub(crate) fn short_type_name<T>() -> &'static str {
    shorten_type_name(std::any::type_name::<T>())
}

/// The last path segment of a type name without generics; a generic name
/// (`Vec<my::Item>`) is kept whole, since its last segment would mislead.
pub(crate) fn shorten_type_name(full: &'static str) -> &'static str {
    if full.contains('<') {
        full
    } else {
        full.rsplit("::").next().unwrap_or(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cut_to_their_last_segment_unless_generic() {
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(short_type_name::<u64>(), "u64");
        assert_eq!(shorten_type_name("a::b::C"), "C");
        assert_eq!(
            shorten_type_name("alloc::vec::Vec<a::B>"),
            "alloc::vec::Vec<a::B>"
        );
    }
}
