//! Fuzz target: the request codec under arbitrary bytes (see
//! `sutegi_fuzz::parse_request_case`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sutegi_fuzz::parse_request_case(data));
