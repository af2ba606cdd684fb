//! Runnable examples of sutegi; see examples/README.md.
