//! Functions written in Rust: the [`NativeFn`] trait, the built-in [`Primitive`]s, and two
//! natives with state of their own — a [`Counter`] and a [`Composition`], which holds values
//! of the language.
//!
//! On the heap every native is a `Ptr<dyn NativeFn>`: a trait object whose concrete type the
//! heap still knows, so the collector traces what a `Composition` holds.

use std::cell::Cell;
use std::cmp::Ordering;

use super::{Interp, Ptr, Value, native};
use crate::Error;

/// A function written in Rust, callable from the language.
///
/// On cyclegc's heap, any type that derives `Trace` can be one; the values it holds are then
/// edges the collector follows, like the fields of any other object.
pub trait NativeFn {
    /// The name it prints with: `#<native name>`.
    fn name(&self) -> &str;

    /// Calls it with the evaluated arguments.
    fn call(&self, interp: &mut Interp, args: &[Value]) -> Result<Value, Error>;
}

/// Declares the primitives: each variant with the name the language knows it by.
macro_rules! primitives {
    ($($variant:ident => $name:literal,)*) => {
        heap_type! {
            /// The built-in functions. They hold nothing, so on cyclegc's heap they are leaves,
            /// objects the collector never visits.
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub enum Primitive {
                $(
                    #[doc = concat!("`", $name, "`")]
                    $variant,
                )*
            }
        }

        impl Primitive {
            /// Every primitive, in the order they are declared.
            pub const ALL: &[Primitive] = &[$(Primitive::$variant),*];

            /// The name the language knows it by.
            pub fn name(self) -> &'static str {
                match self {
                    $(Primitive::$variant => $name,)*
                }
            }
        }
    };
}

primitives! {
    Add => "+",
    Sub => "-",
    Mul => "*",
    Div => "/",
    Remainder => "remainder",
    NumEq => "=",
    Less => "<",
    Greater => ">",
    LessEq => "<=",
    GreaterEq => ">=",
    Not => "not",
    IsEq => "eq?",
    IsEqual => "equal?",
    Cons => "cons",
    Car => "car",
    Cdr => "cdr",
    List => "list",
    IsNull => "null?",
    IsPair => "pair?",
    Length => "length",
    Vector => "vector",
    VectorRef => "vector-ref",
    VectorLength => "vector-length",
    StringAppend => "string-append",
    StringLength => "string-length",
    NumberToString => "number->string",
    SymbolToString => "symbol->string",
    IsNumber => "number?",
    IsString => "string?",
    IsSymbol => "symbol?",
    IsProcedure => "procedure?",
    Apply => "apply",
    Raise => "error",
    Display => "display",
    Newline => "newline",
    MakeCounter => "counter",
    Compose => "compose",
}

impl NativeFn for Primitive {
    fn name(&self) -> &str {
        Primitive::name(*self)
    }

    fn call(&self, interp: &mut Interp, args: &[Value]) -> Result<Value, Error> {
        let name = Primitive::name(*self);
        Ok(match self {
            Primitive::Add => fold(Number::Int(0), args, Arith::Add)?,
            Primitive::Mul => fold(Number::Int(1), args, Arith::Mul)?,
            Primitive::Sub | Primitive::Div => {
                let (arith, identity) = if *self == Primitive::Sub { (Arith::Sub, 0) } else { (Arith::Div, 1) };
                match args {
                    [] => return Err(arity(name, "at least 1", args)),
                    [only] => combine(Number::Int(identity), number(only)?, arith)?.into(),
                    [first, rest @ ..] => fold(number(first)?, rest, arith)?,
                }
            }
            Primitive::Remainder => {
                let [a, b] = exactly(name, args)?;
                let (a, b) = (integer(a)?, integer(b)?);
                match a.checked_rem(b) {
                    Some(rem) => Value::Int(rem),
                    None if b == 0 => return Err(Error::DivisionByZero),
                    None => return Err(Error::Overflow),
                }
            }
            Primitive::NumEq => compare(name, args, Ordering::is_eq)?,
            Primitive::Less => compare(name, args, Ordering::is_lt)?,
            Primitive::Greater => compare(name, args, Ordering::is_gt)?,
            Primitive::LessEq => compare(name, args, Ordering::is_le)?,
            Primitive::GreaterEq => compare(name, args, Ordering::is_ge)?,
            Primitive::Not => Value::Bool(!exactly::<1>(name, args)?[0].is_true()),
            Primitive::IsEq => {
                let [a, b] = exactly(name, args)?;
                Value::Bool(a.is_eq(b))
            }
            Primitive::IsEqual => {
                let [a, b] = exactly(name, args)?;
                Value::Bool(a.is_equal(b)?)
            }
            Primitive::Cons => {
                let [car, cdr] = exactly(name, args)?;
                Value::cons(car.clone(), cdr.clone())
            }
            Primitive::Car => pair(exactly::<1>(name, args)?[0])?.car.clone(),
            Primitive::Cdr => pair(exactly::<1>(name, args)?[0])?.cdr.clone(),
            Primitive::List => Value::list(args.iter().cloned()),
            Primitive::IsNull => Value::Bool(matches!(exactly::<1>(name, args)?[0], Value::Nil)),
            Primitive::IsPair => Value::Bool(matches!(exactly::<1>(name, args)?[0], Value::Pair(_))),
            Primitive::Length => length(exactly::<1>(name, args)?[0])?,
            Primitive::Vector => Value::Vector(Ptr::from(args)),
            Primitive::VectorRef => {
                let [vector, index] = exactly(name, args)?;
                let Value::Vector(items) = vector else { return Err(type_error("vector", vector)) };
                let found = usize::try_from(integer(index)?).ok().and_then(|i| items.get(i));
                found.cloned().ok_or_else(|| type_error("index into the vector", index))?
            }
            Primitive::VectorLength => match exactly::<1>(name, args)?[0] {
                Value::Vector(items) => len_value(items.len())?,
                other => return Err(type_error("vector", other)),
            },
            Primitive::StringAppend => {
                let mut joined = String::new();
                for arg in args {
                    joined.push_str(string(arg)?);
                }
                Value::Str(Ptr::from(joined))
            }
            Primitive::StringLength => len_value(string(exactly::<1>(name, args)?[0])?.chars().count())?,
            Primitive::NumberToString => {
                let [value] = exactly(name, args)?;
                number(value)?;
                Value::string(&value.to_string())
            }
            Primitive::SymbolToString => match exactly::<1>(name, args)?[0] {
                Value::Symbol(symbol) => Value::string(symbol.name()),
                other => return Err(type_error("symbol", other)),
            },
            Primitive::IsNumber => Value::Bool(matches!(exactly::<1>(name, args)?[0], Value::Int(_) | Value::Float(_))),
            Primitive::IsString => Value::Bool(matches!(exactly::<1>(name, args)?[0], Value::Str(_))),
            Primitive::IsSymbol => Value::Bool(matches!(exactly::<1>(name, args)?[0], Value::Symbol(_))),
            Primitive::IsProcedure => Value::Bool(is_procedure(exactly::<1>(name, args)?[0])),
            Primitive::Apply => {
                let [function, list] = exactly(name, args)?;
                interp.apply(function, list.list_to_vec()?)?
            }
            Primitive::Raise => {
                let Some((message, irritants)) = args.split_first() else {
                    return Err(arity(name, "at least 1", args));
                };
                let mut text = String::new();
                message.write_displayed(&mut text);
                for irritant in irritants {
                    text.push(' ');
                    text.push_str(&irritant.to_string());
                }
                return Err(Error::Raised(text));
            }
            Primitive::Display => {
                exactly::<1>(name, args)?[0].write_displayed(&mut interp.output);
                Value::Nil
            }
            Primitive::Newline => {
                exactly::<0>(name, args)?;
                interp.output.push('\n');
                Value::Nil
            }
            Primitive::MakeCounter => {
                let start = integer(exactly::<1>(name, args)?[0])?;
                Value::Native(native(Counter { next: Cell::new(start) }))
            }
            Primitive::Compose => {
                let [outer, inner] = exactly(name, args)?;
                for function in [outer, inner] {
                    if !is_procedure(function) {
                        return Err(type_error("procedure", function));
                    }
                }
                Value::Native(native(Composition { outer: outer.clone(), inner: inner.clone() }))
            }
        })
    }
}

heap_type! {
    /// What `(counter start)` returns: a native function with state of its own, which gives
    /// `start`, `start + 1`, ... on successive calls.
    #[derive(Debug)]
    pub struct Counter {
        next: Cell<i64>,
    }

    /// What `(compose f g)` returns: a native function that calls `g`, then `f` on the result.
    /// It holds two values of the language; on cyclegc's heap they are traced edges, so a
    /// composition that ends up reachable from itself is a cycle the collector frees.
    #[derive(Debug)]
    pub struct Composition {
        outer: Value,
        inner: Value,
    }
}

impl NativeFn for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    fn call(&self, _interp: &mut Interp, args: &[Value]) -> Result<Value, Error> {
        exactly::<0>("counter", args)?;
        let current = self.next.get();
        self.next.set(current.checked_add(1).ok_or(Error::Overflow)?);
        Ok(Value::Int(current))
    }
}

impl NativeFn for Composition {
    fn name(&self) -> &str {
        "composition"
    }

    fn call(&self, interp: &mut Interp, args: &[Value]) -> Result<Value, Error> {
        let inner = interp.apply(&self.inner, args.to_vec())?;
        interp.apply(&self.outer, vec![inner])
    }
}

fn is_procedure(value: &Value) -> bool {
    matches!(value, Value::Lambda(_) | Value::Native(_))
}

fn type_error(expected: &'static str, found: &Value) -> Error {
    Error::Type { expected, found: found.to_string() }
}

fn arity(name: &str, expected: &str, args: &[Value]) -> Error {
    Error::Arity { callee: format!("#<native {name}>"), expected: expected.to_owned(), given: args.len() }
}

/// The arguments, if there are exactly `N` of them.
fn exactly<'a, const N: usize>(name: &str, args: &'a [Value]) -> Result<[&'a Value; N], Error> {
    match <&[Value; N]>::try_from(args) {
        Ok(args) => Ok(args.each_ref()),
        Err(_) => Err(arity(name, &N.to_string(), args)),
    }
}

fn pair(value: &Value) -> Result<&super::Pair, Error> {
    match value {
        Value::Pair(pair) => Ok(pair),
        other => Err(type_error("pair", other)),
    }
}

fn string(value: &Value) -> Result<&str, Error> {
    match value {
        Value::Str(text) => Ok(text),
        other => Err(type_error("string", other)),
    }
}

fn integer(value: &Value) -> Result<i64, Error> {
    match value {
        Value::Int(n) => Ok(*n),
        other => Err(type_error("integer", other)),
    }
}

fn len_value(len: usize) -> Result<Value, Error> {
    i64::try_from(len).map(Value::Int).map_err(|_| Error::Overflow)
}

fn length(list: &Value) -> Result<Value, Error> {
    let mut len = 0;
    let mut rest = list;
    loop {
        match rest {
            Value::Nil => return len_value(len),
            Value::Pair(pair) => {
                len += 1;
                rest = &pair.cdr;
            }
            _ => return Err(type_error("list", list)),
        }
    }
}

/// A number of the language, unboxed for arithmetic.
#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Float(x) => x,
        }
    }
}

impl From<Number> for Value {
    fn from(number: Number) -> Value {
        match number {
            Number::Int(n) => Value::Int(n),
            Number::Float(x) => Value::Float(x),
        }
    }
}

fn number(value: &Value) -> Result<Number, Error> {
    match value {
        Value::Int(n) => Ok(Number::Int(*n)),
        Value::Float(x) => Ok(Number::Float(*x)),
        other => Err(type_error("number", other)),
    }
}

#[derive(Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a op b`: exact on integers (an error on overflow), floating-point if either is a float.
/// An integer division that leaves a remainder gives a float.
fn combine(a: Number, b: Number, op: Arith) -> Result<Number, Error> {
    let (Number::Int(x), Number::Int(y)) = (a, b) else {
        let (x, y) = (a.as_f64(), b.as_f64());
        return Ok(Number::Float(match op {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
        }));
    };
    let exact = match op {
        Arith::Add => x.checked_add(y),
        Arith::Sub => x.checked_sub(y),
        Arith::Mul => x.checked_mul(y),
        Arith::Div => match x.checked_rem(y) {
            None if y == 0 => return Err(Error::DivisionByZero),
            Some(0) => x.checked_div(y),
            Some(_) => return Ok(Number::Float(x as f64 / y as f64)),
            None => None,
        },
    };
    exact.map(Number::Int).ok_or(Error::Overflow)
}

fn fold(first: Number, rest: &[Value], op: Arith) -> Result<Value, Error> {
    let mut acc = first;
    for arg in rest {
        acc = combine(acc, number(arg)?, op)?;
    }
    Ok(acc.into())
}

/// Whether every neighbouring pair of arguments passes `test` (`(< 1 2 3)`).
fn compare(name: &str, args: &[Value], test: fn(Ordering) -> bool) -> Result<Value, Error> {
    let Some((first, rest)) = args.split_first() else { return Err(arity(name, "at least 1", args)) };
    let mut previous = number(first)?;
    let mut holds = true;
    for arg in rest {
        let next = number(arg)?;
        let order = match (previous, next) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        };
        holds &= order.is_some_and(test);
        previous = next;
    }
    Ok(Value::Bool(holds))
}
