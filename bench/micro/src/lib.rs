//! `sutegi-microbench` holds no code of its own: its criterion benches live
//! in `benches/micro.rs` (`cargo bench -p sutegi-microbench` from `bench/`).
//! The library target exists only because cargo wants a target to hang the
//! dev-dependencies on.
