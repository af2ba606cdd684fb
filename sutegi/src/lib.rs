//! sutegi: a small synchronous HTTP/1.1 web framework on `std::net`.
//!
//! (The crate guide is written as the router lands.)

extern crate self as sutegi;

pub mod server;

pub use server::*;
