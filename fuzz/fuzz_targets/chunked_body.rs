//! Fuzz target: the resumable chunked decoder under arbitrary bodies,
//! against a reference reading of the grammar (see
//! `sutegi_fuzz::chunked_body_case`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sutegi_fuzz::chunked_body_case(data));
