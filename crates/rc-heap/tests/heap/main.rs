//! rc-heap's test suite: one binary, so that valgrind and Miri run it in one go.

#![allow(unsafe_code, reason = "hand-written Trace impls and the raw collector mechanism under test")]

mod audit;
mod common;
mod dealloc;
mod finalize;
mod handles;
mod misuse_more;
mod model;
mod owned;
mod pools;
mod raw;
mod shapes;
mod teardown;
mod tracing;
mod user_programs;
mod weak;
