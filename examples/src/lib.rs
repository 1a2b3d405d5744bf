//! Example programs for the `umcg` runtime; see `examples/` (`cargo run -p examples --example hello`).
