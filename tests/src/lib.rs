//! Shared helpers of the laputa integration tests.
