//! The interpreter, written once for both heaps.
//!
//! This module is compiled twice, as [`lisp::gc`](crate::gc) and as [`lisp::rc`](crate::rc).
//! The module that includes it brings the four names that differ between the heaps:
//!
//! - `Ptr`, the handle every heap object lives behind: `cyclegc::Gc` or `std::rc::Rc`;
//! - `heap_type!`, which makes the types it wraps heap objects (on cyclegc's heap, it
//!   derives `Trace` for them);
//! - `native`, which puts a native function on the heap as a `Ptr<dyn NativeFn>`;
//! - `start_collector`, called when an interpreter is made.

mod eval;
mod natives;
mod reader;
mod value;

use rustc_hash::{FxHashMap, FxHashSet};

pub use natives::{Composition, Counter, NativeFn, Primitive};
pub use value::{Env, Lambda, Pair, Symbol, Value, live_environments};

use super::{Ptr, native, start_collector};
use crate::Error;
use eval::Form;

/// An interpreter: a global environment, a symbol table, and what `display` printed.
///
/// Its values live on this module's heap, and stay valid after the interpreter is dropped:
/// they are handles like any other.
pub struct Interp {
    globals: Ptr<Env>,
    symbols: FxHashSet<Ptr<str>>,
    forms: FxHashMap<Symbol, Form>,
    /// How many `eval`s and `apply`s are running, nested in Rust.
    depth: usize,
    /// Where the stack was when the outermost of them began.
    stack_base: usize,
    output: String,
}

impl Interp {
    /// An interpreter whose global environment holds the [`Primitive`]s and `nil`.
    pub fn new() -> Interp {
        start_collector();
        let mut interp = Interp {
            globals: Env::new(None, Primitive::ALL.len() + 1),
            symbols: FxHashSet::default(),
            forms: FxHashMap::default(),
            depth: 0,
            stack_base: 0,
            output: String::new(),
        };
        for &form in Form::ALL {
            let name = interp.intern(form.name());
            interp.forms.insert(name, form);
        }
        for &primitive in Primitive::ALL {
            interp.define(primitive.name(), Value::Native(native(primitive)));
        }
        interp.define("nil", Value::Nil);
        interp
    }

    /// The symbol named `name`: the same object every time.
    pub fn intern(&mut self, name: &str) -> Symbol {
        if let Some(interned) = self.symbols.get(name) {
            return Symbol::new_interned(interned.clone());
        }
        let interned: Ptr<str> = Ptr::from(name);
        self.symbols.insert(interned.clone());
        Symbol::new_interned(interned)
    }

    /// Binds `name` to `value` in the global environment.
    pub fn define(&mut self, name: &str, value: Value) {
        let name = self.intern(name);
        self.globals.define(name, value);
    }

    /// The global environment.
    pub fn globals(&self) -> &Ptr<Env> {
        &self.globals
    }

    /// Reads every form of `source` without evaluating it.
    pub fn read(&mut self, source: &str) -> Result<Vec<Value>, Error> {
        reader::read(self, source)
    }

    /// Reads and evaluates every form of `source` in the global environment, in order, and
    /// returns the value of the last one (`nil` if there is none).
    pub fn run(&mut self, source: &str) -> Result<Value, Error> {
        let globals = self.globals.clone();
        let mut last = Value::Nil;
        for form in self.read(source)? {
            last = self.eval(&form, &globals)?;
        }
        Ok(last)
    }

    /// What `display` and `newline` printed since the last call.
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.output)
    }
}

impl Default for Interp {
    fn default() -> Interp {
        Interp::new()
    }
}

impl std::fmt::Debug for Interp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interp")
            .field("globals", &*self.globals)
            .field("symbols", &self.symbols.len())
            .finish_non_exhaustive()
    }
}

impl crate::Interpreter for Interp {
    fn eval_to_string(&mut self, source: &str) -> Result<String, Error> {
        self.run(source).map(|value| value.to_string())
    }

    fn take_output(&mut self) -> String {
        Interp::take_output(self)
    }

    fn live_environments() -> usize {
        live_environments()
    }
}
