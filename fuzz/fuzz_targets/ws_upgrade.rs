//! Fuzz target: the WebSocket opening handshake under arbitrary request
//! bytes (see `sutegi_fuzz::ws_upgrade_case`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sutegi_fuzz::ws_upgrade_case(data));
