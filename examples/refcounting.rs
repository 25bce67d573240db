//! Reference counting, narrated: what frees an object at once, what keeps it alive, and how
//! weak references break a cycle. Run with `cargo run --example refcounting`.

use std::cell::RefCell;

use cyclegc::{Finalize, Gc, Trace, Weak};

/// A tree node: children are owned, the parent is only referred to.
#[derive(Trace)]
#[trace(finalize)]
struct TreeNode {
    name: String,
    children: RefCell<Vec<Gc<TreeNode>>>,
    parent: RefCell<Weak<TreeNode>>,
}

impl Finalize for TreeNode {
    fn finalize(&self) {
        println!("    finalize {} (its children are still intact: {})", self.name, self.children.borrow().len());
    }
}

fn node(name: &str) -> Gc<TreeNode> {
    Gc::new(TreeNode { name: name.into(), children: RefCell::new(Vec::new()), parent: RefCell::new(Weak::new()) })
}

fn main() {
    println!("1. A handle is a reference; the count says how many there are.");
    let root = node("root");
    let alias = root.clone();
    println!("   strong_count(root) = {}", Gc::strong_count(&root));
    drop(alias);
    println!("   after dropping the alias: {}", Gc::strong_count(&root));

    println!("\n2. Children point up with weak references, so the tree has no cycle.");
    for name in ["left", "right"] {
        let child = node(name);
        *child.parent.borrow_mut() = Gc::downgrade(&root);
        root.children.borrow_mut().push(child);
    }
    for referent in Gc::to_any(&root).referents() {
        println!(
            "   root --{}--> {}",
            referent.label,
            referent.downcast::<TreeNode>().map(|n| n.name.clone()).unwrap_or_default()
        );
    }
    let left = root.children.borrow()[0].clone();
    let parent = left.parent.borrow().upgrade().map(|p| p.name.clone());
    println!("   left's parent: {parent:?}");

    println!("\n3. Dropping the last handle to the root frees the whole tree at once:");
    let watch = Gc::downgrade_with_callback(&root, |_| println!("    weak callback: root is gone"));
    drop(left);
    drop(root);
    println!("   root alive afterwards: {}", watch.upgrade().is_some());

    println!("\n4. A strong self-reference is a cycle: reference counting cannot free it.");
    let looped = node("looped");
    looped.children.borrow_mut().push(looped.clone());
    let watch = Gc::downgrade(&looped);
    drop(looped);
    println!("   alive after its last outside handle went: {}", watch.upgrade().is_some());
    if let Some(looped) = watch.upgrade() {
        looped.children.borrow_mut().clear();
    }
    println!("   alive after breaking the cycle by hand: {}", watch.upgrade().is_some());
}
