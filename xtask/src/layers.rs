//! `cargo xtask layers [CRATE...]`: checks that a crate's files call each other one way.
//!
//! A crate's files are read with `syn` from its `lib.rs` down its `mod` declarations. A file
//! *uses* another when its code names something there: a `crate::`, `super::` or `self::`
//! path, a path through a child module, or a name the crate root re-exports from that file
//! (`crate::Gc` is `gc.rs`'s). Paths inside macro calls count too; doc links do not.
//!
//! The layer order is the order of the `mod` declarations, children before the module that
//! declares them (a `mod.rs` may call its phases, not the other way round), so the crate root
//! comes last: its re-exports (`pub use`) are its table of contents and count as no use, but
//! an item it defines may be used by no other file. The check fails
//! when a file uses one declared after it, which every import circle does. Without an
//! argument it checks `rc-heap` and `gen-gc`; it prints each crate's files in order with what
//! each uses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// The crates checked when none is named.
const DEFAULT_CRATES: &[&str] = &["rc-heap", "gen-gc"];

/// Runs the check on the crates named in `args` (directories under `crates/`).
pub fn run(args: &[String]) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    let names: Vec<&str> =
        if args.is_empty() { DEFAULT_CRATES.to_vec() } else { args.iter().map(String::as_str).collect() };
    let mut failures = Vec::new();
    for name in names {
        let layout = CrateLayout::read(&root.join("crates").join(name).join("src"))?;
        print!("{}", layout.listing(name));
        failures.extend(layout.violations().into_iter().map(|v| format!("{name}: {v}")));
    }
    if failures.is_empty() {
        println!("layers: every file uses only files declared before it");
        Ok(())
    } else {
        Err(format!(
            "files that use a later file (an import circle or a declaration out of order):\n  {}",
            failures.join("\n  ")
        ))
    }
}

/// A module path from the crate root: `[]` is `lib.rs`, `["collect", "marking"]` a child.
type ModPath = Vec<String>;

/// One source file of a crate.
struct SourceFile {
    /// The file's module path.
    module: ModPath,
    /// The file on disk, relative to `src/`.
    shown_as: String,
    /// The modules the file declares with `mod name;`, in order.
    children: Vec<String>,
    /// Names brought in by `use` items: name → the path it stands for.
    imports: BTreeMap<String, Vec<String>>,
    /// Paths of `use path::*` items.
    globs: Vec<Vec<String>>,
    /// Names of the items the file defines at its top level.
    defines: BTreeSet<String>,
    /// Every path the file's code names, as written.
    paths: Vec<Vec<String>>,
}

/// A crate's files, in layer order, with what each uses.
struct CrateLayout {
    /// Files in layer order: a module's children, then the module.
    files: Vec<SourceFile>,
    /// For each file (by index), the files it uses and one path that shows it.
    uses: Vec<BTreeMap<usize, String>>,
}

impl CrateLayout {
    fn read(src: &Path) -> Result<Self, String> {
        let mut files = Vec::new();
        read_module(src, &src.join("lib.rs"), Vec::new(), &mut files)?;
        let index: BTreeMap<ModPath, usize> = files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
        let uses = files
            .iter()
            .map(|file| {
                let mut used = BTreeMap::new();
                for path in &file.paths {
                    if let Some(target) = resolve(&files, &index, file, path)
                        && target != index[&file.module]
                    {
                        used.entry(target).or_insert_with(|| path.join("::"));
                    }
                }
                used
            })
            .collect();
        Ok(CrateLayout { files, uses })
    }

    /// Each file in layer order with the files it uses.
    fn listing(&self, name: &str) -> String {
        let mut out = format!("{name}, files in layer order:\n");
        for (i, file) in self.files.iter().enumerate() {
            let used: Vec<&str> = self.uses[i].keys().map(|&j| self.files[j].shown_as.as_str()).collect();
            let used = if used.is_empty() { "nothing".to_string() } else { used.join(", ") };
            let _ = writeln!(out, "  {:<24} uses {used}", file.shown_as);
        }
        out
    }

    /// Every use of a file that comes later in the layer order.
    fn violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (i, used) in self.uses.iter().enumerate() {
            for (&j, example) in used {
                if j > i {
                    found.push(format!("{} uses {} (`{example}`)", self.files[i].shown_as, self.files[j].shown_as));
                }
            }
        }
        found
    }
}

/// Reads the file of module `module` and, first, the files of the modules it declares.
fn read_module(src: &Path, path: &Path, module: ModPath, files: &mut Vec<SourceFile>) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let syntax = syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let children: Vec<String> = syntax
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() => Some(m.ident.to_string()),
            _ => None,
        })
        .collect();
    // A child of `lib.rs` or `x/mod.rs` lives beside it; a child of `x.rs` in `x/`.
    let dir: PathBuf = match path.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "mod.rs") => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => path.with_extension(""),
    };
    for child in &children {
        let flat = dir.join(format!("{child}.rs"));
        let nested = dir.join(child).join("mod.rs");
        let child_path = if flat.exists() { flat } else { nested };
        let mut child_module = module.clone();
        child_module.push(child.clone());
        read_module(src, &child_path, child_module, files)?;
    }
    let mut collector = PathCollector { is_root: module.is_empty(), ..PathCollector::default() };
    collector.visit_file(&syntax);
    files.push(SourceFile {
        module,
        shown_as: path.strip_prefix(src).unwrap_or(path).display().to_string(),
        children,
        imports: collector.imports,
        globs: collector.globs,
        defines: syntax.items.iter().filter_map(item_name).collect(),
        paths: collector.paths,
    });
    Ok(())
}

/// Gathers the paths a file names and the names its `use` items bring in.
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
    imports: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    /// Whether the file is the crate root.
    is_root: bool,
    /// How deep inside inline `mod x { .. }` blocks the visit is.
    inline_depth: usize,
}

impl PathCollector {
    fn record(&mut self, mut segments: Vec<String>) {
        // Inside an inline module, one `super` leads back to the file's own module.
        if self.inline_depth > 0 {
            let supers = segments.iter().take_while(|s| *s == "super").count();
            let dropped = supers.min(self.inline_depth);
            if dropped > 0 {
                segments.drain(..dropped);
                segments.insert(0, "self".into());
            }
        }
        self.paths.push(segments);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                let name = full.last().cloned().unwrap_or_default();
                if self.inline_depth == 0 {
                    self.imports.insert(name, full.clone());
                }
                self.record(full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                if self.inline_depth == 0 {
                    self.imports.insert(r.rename.to_string(), full.clone());
                }
                self.record(full);
            }
            syn::UseTree::Glob(_) => {
                if self.inline_depth == 0 {
                    self.globs.push(prefix.clone());
                }
                self.record(prefix.clone());
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// Finds `crate::a::b`, `super::a` and `self::a` inside a macro call's tokens.
    fn macro_tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(group) => self.macro_tokens(group.stream()),
                TokenTree::Ident(ident) if ident == "crate" || ident == "super" || ident == "self" => {
                    let mut segments = vec![ident.to_string()];
                    let mut j = i + 1;
                    while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(TokenTree::Ident(next))) =
                        (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segments.push(next.to_string());
                        j += 3;
                    }
                    if segments.len() > 1 {
                        self.record(segments);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.record(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let paths = self.paths.len();
        self.use_tree(&mut Vec::new(), &item.tree);
        // The crate root's re-exports are its table of contents, not calls.
        if self.is_root && self.inline_depth == 0 && !matches!(item.vis, syn::Visibility::Inherited) {
            self.paths.truncate(paths);
        }
    }

    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {
        // `pub(crate)` and `pub(super)` name no code.
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.inline_depth += 1;
        syn::visit::visit_item_mod(self, item);
        self.inline_depth -= 1;
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.macro_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {
        // Doc comments and other attributes name no code the file calls.
    }
}

/// The name a top-level item defines, if it is one a path can name.
fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        syn::Item::Const(i) => &i.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        _ => return None,
    };
    Some(ident.to_string())
}

/// How many re-exports a path may be followed through before giving up.
const MAX_REEXPORTS: usize = 8;

/// The file a path written in `file` leads to, if it leads into the crate.
fn resolve(
    files: &[SourceFile],
    index: &BTreeMap<ModPath, usize>,
    file: &SourceFile,
    path: &[String],
) -> Option<usize> {
    resolve_within(files, index, file, path, MAX_REEXPORTS)
}

fn resolve_within(
    files: &[SourceFile],
    index: &BTreeMap<ModPath, usize>,
    file: &SourceFile,
    path: &[String],
    hops: usize,
) -> Option<usize> {
    let first = path.first()?;
    let (mut base, rest): (ModPath, &[String]) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (file.module.clone(), &path[1..]),
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            let mut base = file.module.clone();
            for _ in 0..supers {
                base.pop()?;
            }
            (base, &path[supers..])
        }
        name if file.children.iter().any(|c| c == name) => (file.module.clone(), path),
        _ => return None,
    };
    // Walk down through the files' modules as far as the path goes.
    let mut consumed = 0;
    while let Some(segment) = rest.get(consumed) {
        let mut deeper = base.clone();
        deeper.push(segment.clone());
        if !index.contains_key(&deeper) {
            break;
        }
        base = deeper;
        consumed += 1;
    }
    let rest = &rest[consumed..];
    let at = *index.get(&base)?;
    let here = &files[at];
    let Some(name) = rest.first() else { return Some(at) };
    if here.defines.contains(name) || hops == 0 {
        return Some(at);
    }
    // A name the module only re-exports belongs to the file it comes from.
    if let Some(imported) = here.imports.get(name) {
        let mut followed = imported.clone();
        followed.extend(rest[1..].iter().cloned());
        return Some(resolve_within(files, index, here, &followed, hops - 1).unwrap_or(at));
    }
    for glob in &here.globs {
        let mut followed = glob.clone();
        followed.extend(rest.iter().cloned());
        if let Some(target) = resolve_within(files, index, here, &followed, hops - 1)
            && target != at
            && (files[target].defines.contains(name) || files[target].imports.contains_key(name))
        {
            return Some(target);
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a crate's `src/` with the given files and reads its layout.
    fn layout(name: &str, files: &[(&str, &str)]) -> CrateLayout {
        let src = std::env::temp_dir().join(format!("xtask-layers-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&src);
        for (path, text) in files {
            let path = src.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let layout = CrateLayout::read(&src).unwrap();
        fs::remove_dir_all(&src).unwrap();
        layout
    }

    #[test]
    fn files_that_look_down_pass() {
        let layout = layout(
            "down",
            &[
                ("lib.rs", "mod low;\nmod walk;\npub use walk::Walker;\n"),
                ("low.rs", "pub(crate) struct Cell;\n"),
                (
                    "walk/mod.rs",
                    "mod phase;\nuse crate::low::Cell;\npub struct Walker(Cell);\nfn go() { phase::run() }\n",
                ),
                ("walk/phase.rs", "pub(super) fn run() { let _ = crate::low::Cell; }\n"),
            ],
        );
        assert!(layout.violations().is_empty(), "{:?}", layout.violations());
        let order: Vec<&str> = layout.files.iter().map(|f| f.shown_as.as_str()).collect();
        assert_eq!(order, ["low.rs", "walk/phase.rs", "walk/mod.rs", "lib.rs"]);
        assert!(layout.listing("down").contains("walk/mod.rs              uses low.rs, walk/phase.rs"));
    }

    #[test]
    fn a_circle_is_reported_with_the_path_that_shows_it() {
        let layout = layout(
            "circle",
            &[
                ("lib.rs", "mod a;\nmod b;\npub use b::Thing;\n"),
                ("a.rs", "pub(crate) fn f() { debug_assert!(crate::Thing::ok()); }\n"),
                ("b.rs", "pub struct Thing;\nimpl Thing { pub fn ok() -> bool { crate::a::f(); true } }\n"),
            ],
        );
        assert_eq!(layout.violations(), ["a.rs uses b.rs (`crate::Thing::ok`)"]);
    }

    #[test]
    fn a_phase_that_calls_its_parent_is_reported() {
        let layout = layout(
            "parent",
            &[
                ("lib.rs", "mod walk;\n"),
                ("walk/mod.rs", "mod phase;\nconst MARK: usize = 1;\nfn go() { phase::run() }\n"),
                (
                    "walk/phase.rs",
                    "/// Uses [`super::MARK`] in its docs only.\npub(super) fn run() { let _ = super::MARK; }\n",
                ),
            ],
        );
        assert_eq!(layout.violations(), ["walk/phase.rs uses walk/mod.rs (`super::MARK`)"]);
    }

    #[test]
    fn an_item_the_root_defines_belongs_to_the_last_layer() {
        let layout = layout(
            "root",
            &[
                ("lib.rs", "mod a;\npub struct Id;\n"),
                ("a.rs", "#[cfg(test)]\nmod tests { use super::*; }\npub(crate) fn f(_: crate::Id) {}\n"),
            ],
        );
        assert_eq!(layout.violations(), ["a.rs uses lib.rs (`crate::Id`)"]);
    }
}
