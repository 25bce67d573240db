//! Retained sizes against an oracle: on random heaps, the objects an object retains are
//! exactly those that nothing held from outside reaches once it is removed.

use std::cell::RefCell;

use cyclegc::{Gc, Trace};
use objgraph::{Dominators, HeapGraph};
use proptest::prelude::*;

#[derive(Trace)]
struct Vertex {
    id: usize,
    edges: RefCell<Vec<Gc<Vertex>>>,
}

/// The vertices still reached from the held ones when `removed` is taken out of the graph.
fn reached_without(edges: &[Vec<usize>], held: &[bool], removed: Option<usize>) -> Vec<bool> {
    let mut reached = vec![false; edges.len()];
    let mut stack: Vec<usize> = (0..edges.len()).filter(|&v| held[v] && Some(v) != removed).collect();
    for &v in &stack {
        reached[v] = true;
    }
    while let Some(v) = stack.pop() {
        for &w in &edges[v] {
            if !reached[w] && Some(w) != removed {
                reached[w] = true;
                stack.push(w);
            }
        }
    }
    reached
}

fn cases() -> u32 {
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(divisor) if divisor > 1 => (128 / divisor).max(4),
        _ => 128,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn retained_objects_match_removal_oracle(
        (n, edges, held) in (1usize..24).prop_flat_map(|n| (
            Just(n),
            proptest::collection::vec((0..n, 0..n), 0..n * 3),
            proptest::collection::vec(proptest::bool::weighted(0.25), n),
        ))
    ) {
        gen_gc::disable();
        let vertices: Vec<Gc<Vertex>> = (0..n).map(|id| Gc::new(Vertex { id, edges: RefCell::new(Vec::new()) })).collect();
        let mut adjacency = vec![Vec::new(); n];
        for &(from, to) in &edges {
            vertices[from].edges.borrow_mut().push(vertices[to].clone());
            adjacency[from].push(to);
        }
        let kept: Vec<Gc<Vertex>> = vertices.iter().filter(|v| held[v.id]).cloned().collect();
        drop(vertices);
        gen_gc::collect();

        let alive = reached_without(&adjacency, &held, None);
        let graph = HeapGraph::snapshot();
        let dominators = Dominators::new(&graph);
        prop_assert_eq!(graph.len(), alive.iter().filter(|&&a| a).count());
        for (i, object) in graph.objects().iter().enumerate() {
            let id = object.downcast::<Vertex>().map(|v| v.id).unwrap();
            let still = reached_without(&adjacency, &held, Some(id));
            let retained = (0..n).filter(|&v| alive[v] && !still[v]).count();
            prop_assert_eq!(dominators.retained_objects_at(i), retained, "vertex {}", id);
        }
        drop(dominators);
        drop(graph);
        for vertex in &kept {
            vertex.edges.borrow_mut().clear();
        }
        drop(kept);
        gen_gc::collect();
        gen_gc::enable();
    }
}
