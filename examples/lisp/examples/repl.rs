//! A read-eval-print loop on cyclegc's heap: `cargo run -p lisp --example repl`.
//!
//! Two natives of the REPL's own look at the heap from inside the language: `(collect)` runs
//! a full collection and returns how many unreachable objects it found, `(heap)` lists the
//! most common types of tracked objects. Try:
//!
//! ```text
//! > (define (loop n) (if (= n 0) 'done (begin (define (f) n) (loop (- n 1)))))
//! > (loop 100000)
//! > (heap)
//! > (collect)
//! ```

use std::io::{self, BufRead, Write};

use cyclegc::gen_gc;
use cyclegc::objgraph::{self, Query};
use lisp::Error;
use lisp::gc::{Interp, NativeFn, Value, native};

/// `(collect)`: a full collection; the number of unreachable objects it found.
#[derive(cyclegc::Trace)]
struct Collect;

impl NativeFn for Collect {
    fn name(&self) -> &str {
        "collect"
    }

    fn call(&self, _interp: &mut Interp, _args: &[Value]) -> Result<Value, Error> {
        i64::try_from(gen_gc::collect()).map(Value::Int).map_err(|_| Error::Overflow)
    }
}

/// `(heap)`: the five most common types of tracked objects, as `((name count) ...)`.
#[derive(cyclegc::Trace)]
struct Heap;

impl NativeFn for Heap {
    fn name(&self) -> &str {
        "heap"
    }

    fn call(&self, _interp: &mut Interp, _args: &[Value]) -> Result<Value, Error> {
        let rows = objgraph::most_common_types(Some(5), &Query::default());
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(name, count)| Value::list([Value::string(&name), Value::Int(count.try_into().unwrap_or(i64::MAX))]))
            .collect();
        Ok(Value::list(rows))
    }
}

fn main() -> io::Result<()> {
    let mut interp = Interp::new();
    interp.define("collect", Value::Native(native(Collect)));
    interp.define("heap", Value::Native(native(Heap)));
    let mut pending = String::new();
    let mut stdout = io::stdout();
    write!(stdout, "> ")?;
    stdout.flush()?;
    for line in io::stdin().lock().lines() {
        pending.push_str(&line?);
        pending.push('\n');
        let result = interp.run(&pending);
        if matches!(&result, Err(Error::Syntax(message)) if message == "missing `)`") {
            write!(stdout, "  ")?;
        } else {
            let output = interp.take_output();
            write!(stdout, "{output}")?;
            if !output.is_empty() && !output.ends_with('\n') {
                writeln!(stdout)?;
            }
            match result {
                Ok(value) => writeln!(stdout, "{value}")?,
                Err(error) => writeln!(stdout, "error: {error}")?,
            }
            pending.clear();
            write!(stdout, "> ")?;
        }
        stdout.flush()?;
    }
    writeln!(stdout)
}
