// Included by `test_workflow.rs` through its absolute path, as rustc is given the files of a
// package outside the workspace: the allocation below records an absolute file.
#[allow(dead_code)]
fn request_from_outside_the_workspace(id: u32) -> Gc<Request> {
    Gc::new(Request { id })
}
