//! Route attribute macros for sutegi (placeholder while the crate is built).
