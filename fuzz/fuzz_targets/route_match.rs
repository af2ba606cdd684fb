//! Fuzz target: route matching and capture decoding under arbitrary paths
//! (see `sutegi_fuzz::route_match_case`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sutegi_fuzz::route_match_case(data));
