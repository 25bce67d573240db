//! The values of the language and the environments that bind them: every one a heap object
//! behind `Ptr`, or a plain number inside a `Value`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap;

use super::{NativeFn, Ptr};
use crate::Error;

/// How deep printing and `equal?` follow nested lists before they give up.
pub(super) const MAX_NESTING: usize = 1_000;

heap_type! {
    /// A value of the language.
    ///
    /// Numbers and booleans are held inline; everything else is a handle to a heap object.
    #[derive(Clone)]
    pub enum Value {
        /// The empty list, `()`, also called `nil`.
        Nil,
        /// `#t` or `#f`.
        Bool(bool),
        /// An integer.
        Int(i64),
        /// A floating-point number.
        Float(f64),
        /// A string: its bytes are the heap object, with the length in front.
        Str(Ptr<str>),
        /// A symbol (interned).
        Symbol(Symbol),
        /// A cons cell: lists are chains of them ending in `Nil`.
        Pair(Ptr<Pair>),
        /// A vector, `#(1 2 3)`: the elements are the heap object.
        Vector(Ptr<[Value]>),
        /// A function written in the language, with the environment it was made in.
        Lambda(Ptr<Lambda>),
        /// A function written in Rust: a trait object on the heap.
        Native(Ptr<dyn NativeFn>),
    }

    /// A cons cell.
    pub struct Pair {
        /// The first element.
        pub car: Value,
        /// The rest of the list.
        pub cdr: Value,
    }

    /// A name, interned by its interpreter: two symbols with the same name are the same
    /// object, so comparing and hashing them looks at the address only.
    #[derive(Clone)]
    pub struct Symbol(Ptr<str>);

    /// A scope: its bindings and the scope around it.
    ///
    /// Each call of a lambda makes one, whose parent is the lambda's own environment. A
    /// lambda defined in it holds it in turn: a cycle, the one every interpreter of a
    /// language with closures has.
    pub struct Env {
        vars: RefCell<FxHashMap<Symbol, Value>>,
        parent: Option<Ptr<Env>>,
        #[allow(dead_code, reason = "held for its drop, which counts the environment out")]
        census: EnvCensus,
    }

    /// A function written in the language: a closure over the environment it was made in.
    pub struct Lambda {
        /// The name it was defined with, for printing.
        pub(super) name: Option<Symbol>,
        /// The parameters: a slice object.
        pub(super) params: Ptr<[Symbol]>,
        /// The body's expressions, evaluated in order: a slice object.
        pub(super) body: Ptr<[Value]>,
        /// The environment the lambda was made in.
        pub(super) env: Ptr<Env>,
    }

    /// Counts the environments alive on this thread: one per environment, made and dropped
    /// with it. (The Rc heap has no objgraph to ask; on cyclegc's heap the count agrees with
    /// `objgraph::count("Env")`.)
    struct EnvCensus;
}

thread_local! {
    static LIVE_ENVIRONMENTS: Cell<usize> = const { Cell::new(0) };
}

impl EnvCensus {
    fn count() -> EnvCensus {
        LIVE_ENVIRONMENTS.with(|live| live.set(live.get() + 1));
        EnvCensus
    }
}

impl Drop for EnvCensus {
    fn drop(&mut self) {
        LIVE_ENVIRONMENTS.with(|live| live.set(live.get() - 1));
    }
}

/// How many environments are alive on this thread, on this heap: made and not yet dropped.
/// Environments that only a cycle keeps alive count until they are collected (or forever, on
/// the Rc heap).
pub fn live_environments() -> usize {
    LIVE_ENVIRONMENTS.with(Cell::get)
}

impl Symbol {
    /// A symbol that no interpreter has interned; only [`Interp::intern`](super::Interp::intern)
    /// calls it.
    pub(super) fn new_interned(name: Ptr<str>) -> Symbol {
        Symbol(name)
    }

    /// The symbol's name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Symbol) -> bool {
        Ptr::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Symbol {}

impl Hash for Symbol {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Ptr::as_ptr(&self.0).cast::<u8>().addr().hash(state);
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Env {
    /// A new scope inside `parent` (the global scope when `None`), with room for `capacity`
    /// bindings.
    pub fn new(parent: Option<Ptr<Env>>, capacity: usize) -> Ptr<Env> {
        let vars = FxHashMap::with_capacity_and_hasher(capacity, Default::default());
        Ptr::new(Env { vars: RefCell::new(vars), parent, census: EnvCensus::count() })
    }

    /// The value bound to `name` here or in an enclosing scope.
    pub fn lookup(&self, name: &Symbol) -> Option<Value> {
        let mut env = self;
        loop {
            if let Some(value) = env.vars.borrow().get(name) {
                return Some(value.clone());
            }
            env = env.parent.as_deref()?;
        }
    }

    /// Binds `name` in this scope (`define`), replacing any binding it had here.
    pub fn define(&self, name: Symbol, value: Value) {
        // The old value is dropped after the borrow ends: its drop may run arbitrary code.
        let old = self.vars.borrow_mut().insert(name, value);
        drop(old);
    }

    /// Rebinds `name` where it is bound, here or in an enclosing scope (`set!`).
    pub fn set(&self, name: &Symbol, value: Value) -> Result<(), Error> {
        let mut env = self;
        while !env.vars.borrow().contains_key(name) {
            env = env.parent.as_deref().ok_or_else(|| Error::Unbound(name.name().to_owned()))?;
        }
        env.define(name.clone(), value);
        Ok(())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vars = self.vars.borrow();
        let mut names: Vec<&str> = vars.keys().map(Symbol::name).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).field("global", &self.parent.is_none()).finish()
    }
}

impl Lambda {
    /// A new scope for a call: the parameters bound to `args`, inside the lambda's own scope.
    pub(super) fn bind(&self, args: Vec<Value>) -> Result<Ptr<Env>, Error> {
        if args.len() != self.params.len() {
            return Err(Error::Arity {
                callee: self.to_string(),
                expected: self.params.len().to_string(),
                given: args.len(),
            });
        }
        let env = Env::new(Some(self.env.clone()), args.len());
        {
            let mut vars = env.vars.borrow_mut();
            for (name, value) in self.params.iter().zip(args) {
                vars.insert(name.clone(), value);
            }
        }
        Ok(env)
    }
}

impl fmt::Display for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "#<lambda {}>", name.name()),
            None => f.write_str("#<lambda>"),
        }
    }
}

impl fmt::Debug for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Value {
    /// A string value.
    pub fn string(text: &str) -> Value {
        Value::Str(Ptr::from(text))
    }

    /// A cons cell.
    pub fn cons(car: Value, cdr: Value) -> Value {
        Value::Pair(Ptr::new(Pair { car, cdr }))
    }

    /// The list of `items`, in order.
    pub fn list(items: impl IntoIterator<Item = Value, IntoIter: DoubleEndedIterator>) -> Value {
        items.into_iter().rev().fold(Value::Nil, |list, item| Value::cons(item, list))
    }

    /// Whether the value counts as true: everything but `#f`.
    pub fn is_true(&self) -> bool {
        !matches!(self, Value::Bool(false))
    }

    /// The elements of a proper list, in order.
    pub fn list_to_vec(&self) -> Result<Vec<Value>, Error> {
        let mut items = Vec::new();
        let mut rest = self;
        loop {
            match rest {
                Value::Nil => return Ok(items),
                Value::Pair(pair) => {
                    items.push(pair.car.clone());
                    rest = &pair.cdr;
                }
                _ => return Err(Error::Type { expected: "list", found: self.to_string() }),
            }
        }
    }

    /// The name of the value's type, for error messages and `type-of`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Symbol(_) => "symbol",
            Value::Pair(_) => "pair",
            Value::Vector(_) => "vector",
            Value::Lambda(_) | Value::Native(_) => "procedure",
        }
    }

    /// `eq?`: the same object, or equal numbers, booleans or symbols.
    pub fn is_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Symbol(a), Value::Symbol(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => Ptr::ptr_eq(a, b),
            (Value::Pair(a), Value::Pair(b)) => Ptr::ptr_eq(a, b),
            (Value::Vector(a), Value::Vector(b)) => Ptr::ptr_eq(a, b),
            (Value::Lambda(a), Value::Lambda(b)) => Ptr::ptr_eq(a, b),
            (Value::Native(a), Value::Native(b)) => Ptr::ptr_eq(a, b),
            _ => false,
        }
    }

    /// `equal?`: `eq?`, or strings, lists and vectors with equal contents.
    pub fn is_equal(&self, other: &Value) -> Result<bool, Error> {
        self.is_equal_within(other, MAX_NESTING)
    }

    fn is_equal_within(&self, other: &Value, depth: usize) -> Result<bool, Error> {
        let depth = depth.checked_sub(1).ok_or(Error::TooDeep)?;
        let (mut a, mut b) = (self, other);
        // Along the list (`cdr`) in a loop; into elements by recursion, to `depth` levels.
        loop {
            match (a, b) {
                (Value::Pair(x), Value::Pair(y)) => {
                    if !x.car.is_equal_within(&y.car, depth)? {
                        return Ok(false);
                    }
                    (a, b) = (&x.cdr, &y.cdr);
                }
                (Value::Str(x), Value::Str(y)) => return Ok(x == y),
                (Value::Vector(x), Value::Vector(y)) => {
                    if x.len() != y.len() {
                        return Ok(false);
                    }
                    for (x, y) in x.iter().zip(y.iter()) {
                        if !x.is_equal_within(y, depth)? {
                            return Ok(false);
                        }
                    }
                    return Ok(true);
                }
                _ => return Ok(a.is_eq(b)),
            }
        }
    }

    /// Writes the value as `display` shows it: strings without quotes.
    pub(super) fn write_displayed(&self, out: &mut String) {
        match self {
            Value::Str(text) => out.push_str(text),
            other => out.push_str(&other.to_string()),
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let Some(depth) = depth.checked_sub(1) else { return f.write_str("...") };
        match self {
            Value::Nil => f.write_str("()"),
            Value::Bool(true) => f.write_str("#t"),
            Value::Bool(false) => f.write_str("#f"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(text) => write!(f, "{:?}", &**text),
            Value::Symbol(name) => f.write_str(name.name()),
            Value::Pair(pair) => {
                f.write_str("(")?;
                pair.car.write(f, depth)?;
                let mut rest = &pair.cdr;
                loop {
                    match rest {
                        Value::Nil => break,
                        Value::Pair(pair) => {
                            f.write_str(" ")?;
                            pair.car.write(f, depth)?;
                            rest = &pair.cdr;
                        }
                        tail => {
                            f.write_str(" . ")?;
                            tail.write(f, depth)?;
                            break;
                        }
                    }
                }
                f.write_str(")")
            }
            Value::Vector(items) => {
                f.write_str("#(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    item.write(f, depth)?;
                }
                f.write_str(")")
            }
            Value::Lambda(lambda) => write!(f, "{lambda}"),
            Value::Native(native) => write!(f, "#<native {}>", native.name()),
        }
    }
}

/// The value as the REPL prints it (`write` in Scheme: strings quoted).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, MAX_NESTING)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pair").field("car", &self.car).field("cdr", &self.cdr).finish()
    }
}
