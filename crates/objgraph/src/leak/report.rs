//! What a leak check found, as data and as deterministic text.

use std::any::TypeId;
use std::fmt;

use rc_heap::{GcAny, ObjectId};

/// What a [`LeakCheck`](crate::LeakCheck) found.
///
/// Its `Display` is text meant for snapshot tests (`insta::assert_snapshot!(report)`): no
/// addresses, ids or timings, every list in a stable order. Types are shown by their short
/// names; sizes are [`TypeInfo::object_size`](rc_heap::TypeInfo::object_size), which depends
/// on the target and on the `alloc-site` feature (it adds a word to each tracked object).
///
/// The fields are the same data for other presentations (an HTML report, a CI annotation).
/// The report holds no handle: example objects are kept as ids, so they die as usual once the
/// program lets them go, and [`LeakGroup::objects`] hands out those still alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakReport {
    /// Runs of the scenario before the baseline.
    pub warmup_runs: usize,
    /// Runs of the scenario measured against the baseline.
    pub measured_runs: usize,
    /// The types that grew in every measured run: the leaks. Most growth first, then by name.
    pub growing: Vec<TypeGrowth>,
    /// The types that grew over the measured runs, but not in every one of them (a one-off
    /// fill, a cache reaching its size): not counted as leaks, listed to explain a count that
    /// went up. Most growth first, then by name.
    pub unsteady: Vec<TypeGrowth>,
    /// The leaked objects (objects of the growing types created after the baseline and alive
    /// at the end), grouped by the shape of their chain from a root. Largest group first,
    /// then by chain.
    pub groups: Vec<LeakGroup>,
    /// The bytes all leaked objects keep alive together, each byte counted once.
    pub retained_bytes: usize,
    /// The weak handles to dead objects that tracked objects hold: a list of weak
    /// references never pruned leaks them (each keeps its weak reference's memory), though
    /// the objects they referred to are gone.
    pub dead_weak: DeadWeakRefs,
}

/// The weak handles (`Weak`) to objects that died, held by tracked objects, counted at the
/// baseline and after each measured run, as objgraph counts `weakref` objects: a listener
/// list that keeps the `Weak`s of listeners long gone grows by them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadWeakRefs {
    /// Their number at the baseline, then after each measured run.
    pub counts: Vec<usize>,
    /// The types of the objects holding them after the last run, with how many each type's
    /// objects hold. Most first, then by name.
    pub holders: Vec<(String, usize)>,
}

impl DeadWeakRefs {
    /// Whether their number grew in every measured run: a leak.
    pub fn grew_every_run(&self) -> bool {
        self.counts.len() >= 2 && self.counts.windows(2).all(|pair| pair[1] > pair[0])
    }

    /// What each measured run added.
    pub fn deltas(&self) -> Vec<isize> {
        self.counts.windows(2).map(|pair| pair[1] as isize - pair[0] as isize).collect()
    }

    /// The lines a report writes of them when they leak.
    pub(crate) fn lines(&self) -> Vec<String> {
        let deltas: Vec<String> = self.deltas().iter().map(|delta| format!("{delta:+}")).collect();
        let holders: Vec<String> = self.holders.iter().map(|(name, count)| format!("{name} ({count})")).collect();
        vec![
            format!("weak references to dead objects grew in every measured run: {}", deltas.join(" ")),
            format!("held by: {}", holders.join(", ")),
            "a list of weak references that is never pruned: drop each `Weak` once `upgrade()` gives `None`, \
             or keep them in a `WeakSet`, which drops its dead entries"
                .to_owned(),
        ]
    }
}

/// How the count of one type changed during a leak check.
///
/// Its `Debug` leaves out `type_id`, whose text changes from one compiler version to the next,
/// so that a report's `Debug` (`insta::assert_debug_snapshot!`) stays the same.
#[derive(Clone, PartialEq, Eq)]
pub struct TypeGrowth {
    /// The short type name (`Request<String>`), or the full one when another type of the
    /// report has the same short name (`a::Node`, `b::Node`).
    pub type_name: String,
    /// The full type name (`my_app::server::Request<alloc::string::String>`).
    pub full_type_name: &'static str,
    /// The type.
    pub type_id: TypeId,
    /// Whether the heap tracks the type's objects. An untracked type (one that holds no `Gc`,
    /// without `#[trace(tracked)]`) is counted through the tracked objects that hold its
    /// objects, each once, and its leaked objects get no group: `#[trace(tracked)]` gives
    /// them one.
    pub tracked: bool,
    /// Its objects at the baseline, then after each measured run.
    pub counts: Vec<usize>,
}

impl fmt::Debug for TypeGrowth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeGrowth")
            .field("type_name", &self.type_name)
            .field("full_type_name", &self.full_type_name)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl TypeGrowth {
    /// The change in each measured run.
    pub fn deltas(&self) -> Vec<i64> {
        self.counts.windows(2).map(|pair| pair[1] as i64 - pair[0] as i64).collect()
    }

    /// The change over all measured runs.
    pub fn growth(&self) -> i64 {
        match (self.counts.first(), self.counts.last()) {
            (Some(&first), Some(&last)) => last as i64 - first as i64,
            _ => 0,
        }
    }
}

/// Where the chain of a [`LeakGroup`] starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChainRoot {
    /// An object named with [`name_root`](crate::name_root); the chain starts with the name.
    Named(String),
    /// An object held from outside the heap (a local, a static, a thread-local, an owner that
    /// is not traced); the chain starts with its type.
    HeldFromOutside,
    /// No root reaches the objects: garbage that the check's collections could not free
    /// (frozen with `gen_gc::freeze`).
    Unreachable,
}

/// Leaked objects of one type that are held along chains of one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakGroup {
    /// Where the chain starts.
    pub root: ChainRoot,
    /// The steps of the chain, from the root: each holder's type and the field that holds the
    /// next object (`Cache.items[*]`), indices and map keys written `[*]`; a step that repeats
    /// (a linked list) is written once, followed by `+`, or by `*` when the group also holds
    /// objects the chain reaches without it.
    pub steps: Vec<String>,
    /// The short name of the leaked objects' type.
    pub type_name: String,
    /// The full name of the leaked objects' type.
    pub full_type_name: &'static str,
    /// How many leaked objects are held this way.
    pub count: usize,
    /// The bytes these objects keep alive: the retained sizes of those not retained by
    /// another object of the group (groups may overlap: a leaked request retains its leaked
    /// body, which also has a group).
    pub retained_bytes: usize,
    /// Where the objects were created (`file:line:col`) and how many at each place, most
    /// first. Empty without the `alloc-site` feature or with [`sites(false)`](crate::LeakCheck::sites).
    /// A file of the workspace reads from its root (`src/lib.rs`); a file of a package from
    /// elsewhere (crates.io, git, a path outside the workspace) from that package's directory
    /// (`extlib/src/lib.rs`), so that the text is the same on every machine.
    pub sites: Vec<(String, usize)>,
    /// The ids of a few of the objects (see [`LeakCheck::examples`](crate::LeakCheck::examples)).
    pub examples: Vec<ObjectId>,
    /// The type of another group whose leaked objects the chain passes through, if it does:
    /// these objects are held through that leak (a leaked listener holds its leaked
    /// document, which holds its nodes), so fixing that group frees them too.
    pub held_through: Option<String>,
}

impl LeakGroup {
    /// The chain as text: `_cache -> Cache.items[*] -> Obj`.
    pub fn chain(&self) -> String {
        // A name may hold any text; the chain stays on one line.
        let name = match &self.root {
            ChainRoot::Named(name) => crate::graph::visible(name),
            _ => String::new(),
        };
        let mut parts: Vec<&str> = Vec::with_capacity(self.steps.len() + 2);
        match &self.root {
            ChainRoot::Named(_) => parts.push(&name),
            ChainRoot::HeldFromOutside => {}
            ChainRoot::Unreachable => parts.push("(unreachable)"),
        }
        parts.extend(self.steps.iter().map(String::as_str));
        parts.push(&self.type_name);
        parts.join(" -> ")
    }

    /// The example objects that are still alive.
    pub fn objects(&self) -> Vec<GcAny> {
        crate::at_ids(&self.examples)
    }
}

impl LeakReport {
    /// The names of the growing types the heap does not track (see [`TypeGrowth::tracked`]).
    pub(crate) fn untracked_growing(&self) -> Vec<&str> {
        self.growing.iter().filter(|row| !row.tracked).map(|row| row.type_name.as_str()).collect()
    }

    /// What gives the objects of the untracked growing types a chain, a line each:
    /// `#[trace(tracked)]` on the type, or, for a type of the standard library or a primitive
    /// (`str`, `String`, `Vec<u8>`), which cannot take the attribute, on a type of the
    /// program's that holds the value in its place.
    pub(crate) fn untracked_remedy(&self) -> Vec<String> {
        let untracked: Vec<&TypeGrowth> = self.growing.iter().filter(|row| !row.tracked).collect();
        let (foreign, own): (Vec<&TypeGrowth>, Vec<&TypeGrowth>) =
            untracked.into_iter().partition(|row| is_foreign(row.full_type_name));
        let mut lines = Vec::new();
        match own.len() {
            0 => {}
            1 if foreign.is_empty() => lines.push("`#[trace(tracked)]` on the type gives them one".to_owned()),
            1 => lines.push(format!("`#[trace(tracked)]` on {} gives its objects one", own[0].type_name)),
            _ => lines.push("`#[trace(tracked)]` on each type gives its objects one".to_owned()),
        }
        if !foreign.is_empty() {
            let names: Vec<&str> = foreign.iter().map(|row| row.type_name.as_str()).collect();
            lines.push(format!(
                "{} cannot take the attribute: a type of yours that has it and holds the value \
                 (`Gc<Label>` for a `Gc<str>`) gives {} one",
                names.join(", "),
                if names.len() == 1 { "its objects" } else { "their objects" }
            ));
        }
        lines
    }

    /// Whether no type grew in every measured run.
    pub fn is_clean(&self) -> bool {
        self.growing.is_empty() && !self.dead_weak.grew_every_run()
    }

    /// The number of leaked objects, all groups together.
    pub fn leaked_objects(&self) -> usize {
        self.groups.iter().map(|group| group.count).sum()
    }

    /// Panics with the report's text if something leaked.
    ///
    /// # Panics
    ///
    /// When a type grew in every measured run.
    #[track_caller]
    pub fn assert_no_leaks(&self) {
        if !self.is_clean() {
            panic!("objects leaked:\n{self}");
        }
    }
}

/// `1 warm-up run`, `3 measured runs`.
fn runs(count: usize, kind: &str) -> String {
    format!("{count} {kind} run{}", if count == 1 { "" } else { "s" })
}

/// What a chain's root means, for the two roots that are not a place in the program's own
/// data: the leaked objects held directly from outside the heap, and `gc.garbage`.
fn root_hint(group: &LeakGroup) -> Option<&'static str> {
    match &group.root {
        ChainRoot::HeldFromOutside if group.steps.is_empty() => Some(
            "held from outside the heap: by a variable, a static, or an owner no Trace visits \
             (a skipped field, a shared Rc, a borrowed RefCell)",
        ),
        ChainRoot::Named(name) if name == "gc.garbage" => Some(
            "kept in gc.garbage: everything a collection finds under DEBUG_SAVEALL, cycles with a finalizer \
             under the legacy policy; gen_gc::take_garbage() empties it",
        ),
        _ => None,
    }
}

/// The table of types and their change per run, names padded to the longest.
fn write_growth(f: &mut fmt::Formatter<'_>, rows: &[TypeGrowth]) -> fmt::Result {
    let width = rows.iter().map(|row| row.type_name.chars().count()).max().unwrap_or(0);
    for row in rows {
        let deltas: Vec<String> = row.deltas().iter().map(|delta| format!("{delta:+}")).collect();
        writeln!(f, "  {:<width$}  {}", row.type_name, deltas.join(" "))?;
    }
    Ok(())
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "leak check: {}, {}", runs(self.warmup_runs, "warm-up"), runs(self.measured_runs, "measured"))?;
        writeln!(f)?;
        if self.is_clean() {
            writeln!(f, "no type grew in every measured run: no leak")?;
        } else if self.growing.is_empty() {
            writeln!(f, "no type grew in every measured run")?;
        } else {
            writeln!(f, "grew in every measured run (objects gained per run):")?;
            write_growth(f, &self.growing)?;
        }
        if !self.unsteady.is_empty() {
            writeln!(f)?;
            writeln!(f, "grew, but not in every measured run (not counted as a leak):")?;
            write_growth(f, &self.unsteady)?;
        }
        if self.dead_weak.grew_every_run() {
            writeln!(f)?;
            for line in self.dead_weak.lines() {
                writeln!(f, "{line}")?;
            }
        }
        let untracked = self.untracked_growing();
        if !untracked.is_empty() {
            writeln!(f)?;
            let (names, one) = (untracked.join(", "), untracked.len() == 1);
            writeln!(
                f,
                "{names} hold{} no Gc, so the heap does not track {}:",
                if one { "s" } else { "" },
                if one { "its objects" } else { "theirs" }
            )?;
            writeln!(f, "counted through the tracked objects that hold them, they have no chain here;")?;
            for line in self.untracked_remedy() {
                writeln!(f, "{line}")?;
            }
        }
        if self.growing.iter().any(|row| row.tracked) {
            writeln!(f)?;
            let groups = self.groups.len();
            writeln!(
                f,
                "leaked: {} objects in {groups} group{}, retaining {} bytes",
                self.leaked_objects(),
                if groups == 1 { "" } else { "s" },
                self.retained_bytes
            )?;
            for group in &self.groups {
                writeln!(f, "  {} {}, retaining {} bytes", group.count, group.type_name, group.retained_bytes)?;
                writeln!(f, "    {}", group.chain())?;
                if let Some(hint) = root_hint(group) {
                    writeln!(f, "    ({hint})")?;
                }
                if let Some(through) = &group.held_through {
                    writeln!(
                        f,
                        "    (held through a leaked {through}, another group here: fixing that frees these too)"
                    )?;
                }
                for (site, count) in &group.sites {
                    writeln!(f, "    created at {site} ({count})")?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a type comes from the standard library or is a primitive, a slice, a tuple or a
/// reference (by its full name), so that no `#[trace(...)]` can be put on it.
fn is_foreign(full_type_name: &str) -> bool {
    let outer = full_type_name.split('<').next().unwrap_or(full_type_name);
    match outer.split_once("::") {
        Some((krate, _)) => matches!(krate, "core" | "alloc" | "std"),
        None => true,
    }
}
