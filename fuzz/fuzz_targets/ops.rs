//! Operation sequences on a client/server `Connection` pair wired together in memory: sends of
//! whole messages and fragments, pings, pongs, closes, partial deliveries, clock jumps. The model
//! and its invariants live in `core/tests/common/ops.rs`, shared with the property tests.
#![no_main]

#[allow(dead_code)]
#[path = "../../core/tests/common/ops.rs"]
mod ops;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ops::run(data);
});
