//! The interpreter's errors: a bad program gets one of these, never a panic.

use std::fmt;

/// What went wrong while reading or running a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The source could not be read, or a special form has the wrong shape.
    Syntax(String),
    /// A variable with no binding.
    Unbound(String),
    /// A value of the wrong type: what was expected, and the value given, printed.
    Type {
        /// The kind of value the operation needs (`"number"`, `"list"`, ...).
        expected: &'static str,
        /// The value it got, printed.
        found: String,
    },
    /// A call with the wrong number of arguments.
    Arity {
        /// The function called, printed.
        callee: String,
        /// How many arguments it takes (`"2"`, `"at least 1"`).
        expected: String,
        /// How many it was given.
        given: usize,
    },
    /// A call of something that is not a function (printed).
    NotCallable(String),
    /// An integer division or remainder by zero.
    DivisionByZero,
    /// An integer result outside `i64`.
    Overflow,
    /// Calls nested deeper than the interpreter allows (a recursion that is not a tail call
    /// and does not end).
    TooDeep,
    /// An error the program raised itself with `(error message irritants...)`.
    Raised(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(message) => write!(f, "syntax error: {message}"),
            Error::Unbound(name) => write!(f, "unbound variable: {name}"),
            Error::Type { expected, found } => write!(f, "expected a {expected}, found {found}"),
            Error::Arity { callee, expected, given } => {
                write!(f, "{callee} takes {expected} argument(s), given {given}")
            }
            Error::NotCallable(value) => write!(f, "not a function: {value}"),
            Error::DivisionByZero => f.write_str("division by zero"),
            Error::Overflow => f.write_str("integer overflow"),
            Error::TooDeep => f.write_str("calls nested too deeply"),
            Error::Raised(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}
