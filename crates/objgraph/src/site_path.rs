//! How an allocation site is written: `file:line:col`, with a file that reads the same on
//! every machine and from every working directory, so that a report naming it can be a
//! snapshot.
//!
//! Cargo gives rustc the files of the workspace's own packages relative to the workspace
//! root (`src/lib.rs`, `crates/app/src/lib.rs`), and those stay as they are. Every other
//! package (a path dependency outside the workspace, a crates.io or git dependency) is
//! compiled from an absolute path, which names the home directory, Cargo's cache or a
//! checkout. Such a file is written from its package's directory instead: the nearest
//! directory above it with a `Cargo.toml`, by its name (`extlib/src/lib.rs`,
//! `serde-1.0.219/src/de.rs`). A file with no such directory (the sources are not on this
//! machine) keeps its absolute path.

use std::cell::RefCell;
use std::panic::Location;
use std::path::{Component, Path};
use std::rc::Rc;

use rustc_hash::FxHashMap;

thread_local! {
    /// The written form of each absolute file met, by the address of its `'static` text: a
    /// report of a million objects looks at the file system once per file.
    static WRITTEN: RefCell<FxHashMap<usize, Rc<str>>> = RefCell::new(FxHashMap::default());
}

/// `file:line:col` of `site`, its file written as the module docs say.
pub(crate) fn site_label(site: &Location<'static>) -> String {
    let file = site.file();
    if !Path::new(file).is_absolute() {
        return site.to_string();
    }
    let written = WRITTEN.with(|written| {
        Rc::clone(written.borrow_mut().entry(file.as_ptr() as usize).or_insert_with(|| from_package(file).into()))
    });
    format!("{written}:{}:{}", site.line(), site.column())
}

/// `file` from its package's directory, or `file` itself when no directory above it has a
/// `Cargo.toml`.
fn from_package(file: &str) -> String {
    let path = Path::new(file);
    let Some(package) = path.ancestors().skip(1).find(|dir| dir.join("Cargo.toml").is_file()) else {
        return file.to_owned();
    };
    let Ok(inside) = path.strip_prefix(package) else {
        return file.to_owned();
    };
    let parts: Vec<String> = package
        .file_name()
        .into_iter()
        .chain(inside.components().filter_map(|part| match part {
            Component::Normal(name) => Some(name),
            _ => None,
        }))
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}
