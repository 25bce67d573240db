//! Model-based test: random sequences of new / link / unlink / drop / collect / weak
//! operations, cycles allowed, checked against a reachability oracle:
//! - nothing reachable from a live handle is ever freed;
//! - a full collection frees everything unreachable;
//! - a weak handle reads dead exactly when its object is gone (its death callback ran).

#[path = "common/model.rs"]
mod world;

use proptest::prelude::*;
use world::{Op, World, config, ops};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_collector_frees_exactly_the_unreachable(
        ops in ops(1, 1),
        threshold0 in 1_usize..20,
    ) {
        // Low thresholds: automatic young and older collections happen between operations.
        gen_gc::set_threshold(threshold0, 2, 2);
        let mut world = World::default();
        for op in &ops {
            world.apply(op);
            world.check(matches!(op, Op::Collect));
        }
        world.roots.clear();
        gen_gc::collect();
        world.check(true);
        gen_gc::set_threshold(700, 10, 10);
    }
}
