//! How the interpreter's values sit on cyclegc's heap, and which of its cycles the collector
//! frees where `Rc` leaks them. Each test runs on its own thread, so on its own heap.

use std::cell::RefCell;

use cyclegc::objgraph::{self, Query};
use cyclegc::{Gc, gen_gc};
use lisp::gc::{Interp, NativeFn, Value};
use lisp::{Error, Interpreter};

fn count(type_name: &str) -> usize {
    objgraph::count(type_name, &Query::default())
}

#[test]
fn strings_vectors_and_natives_are_unsized_objects() {
    let mut interp = Interp::new();
    let Value::Str(text) = interp.run("\"hello\"").unwrap() else { panic!("not a string") };
    assert_eq!(Gc::type_info(&text).short_name(), "str");
    assert!(!Gc::is_tracked(&text), "a string holds no handle: a leaf");

    let Value::Vector(items) = interp.run("(vector 1 \"two\")").unwrap() else { panic!("not a vector") };
    assert_eq!(Gc::type_info(&items).short_name(), "[Value]");
    assert_eq!(items.len(), 2);

    let Value::Native(car) = interp.run("car").unwrap() else { panic!("not a native") };
    assert_eq!(Gc::type_info(&car).short_name(), "Primitive");
    assert!(!Gc::is_tracked(&car), "a primitive holds nothing: a leaf behind `dyn NativeFn`");

    let Value::Native(tick) = interp.run("(counter 1)").unwrap() else { panic!("not a native") };
    assert_eq!(Gc::type_info(&tick).short_name(), "Counter");
}

#[test]
fn a_composition_is_traced_through_its_trait_object() {
    let mut interp = Interp::new();
    let Value::Native(composed) = interp.run("(define (inc x) (+ x 1)) (compose inc inc)").unwrap() else {
        panic!("not a native")
    };
    assert_eq!(Gc::type_info(&composed).short_name(), "Composition");
    assert!(Gc::is_tracked(&composed));
    let referents = gen_gc::get_referents(&composed);
    let names: Vec<String> = referents.iter().map(|r| r.type_info().short_name()).collect();
    assert_eq!(names, ["Lambda", "Lambda"], "the two functions it holds are its edges");
}

#[test]
fn a_native_that_holds_itself_through_a_closure_is_collected() {
    let mut interp = Interp::new();
    // The composition holds a lambda whose environment holds the composition.
    interp
        .run(
            "(define (make-self-holder)
               (let ((self #f))
                 (set! self (compose (lambda (x) self) car))
                 self))
             (define holder (make-self-holder))",
        )
        .unwrap();
    gen_gc::collect();
    assert_eq!(count("Composition"), 1);
    interp.run("(set! holder #f)").unwrap();
    gen_gc::collect();
    assert_eq!(count("Composition"), 0, "the cycle through the trait object was freed");
}

#[test]
fn rc_leaks_a_native_that_holds_itself() {
    let mut interp = lisp::rc::Interp::new();
    let before = lisp::rc::Interp::live_environments();
    interp
        .eval_to_string(
            "(define (make-self-holder)
               (let ((self #f))
                 (set! self (compose (lambda (x) self) car))
                 self))
             (make-self-holder)",
        )
        .unwrap();
    // The call's environment and the `let`'s inside it are still alive, held by the cycle
    // through the composition.
    assert_eq!(lisp::rc::Interp::live_environments(), before + 2);
}

/// A native function of the program's own: it keeps every argument it is called with.
#[derive(cyclegc::Trace)]
struct Recorder {
    seen: RefCell<Vec<Value>>,
}

impl NativeFn for Recorder {
    fn name(&self) -> &str {
        "record"
    }

    fn call(&self, _interp: &mut Interp, args: &[Value]) -> Result<Value, Error> {
        self.seen.borrow_mut().extend(args.iter().cloned());
        Ok(Value::Nil)
    }
}

#[test]
fn a_programs_own_native_is_traced_like_the_built_in_ones() {
    let mut interp = Interp::new();
    let recorder = Recorder { seen: RefCell::new(Vec::new()) };
    interp.define("record", Value::Native(lisp::gc::native(recorder)));
    // The recorder keeps itself: a cycle through its trait object.
    interp.run("(record record)").unwrap();
    gen_gc::collect();
    assert_eq!(count("Recorder"), 1);
    drop(interp);
    gen_gc::collect();
    assert_eq!(count("Recorder"), 0);
}

#[test]
fn a_dropped_interpreter_is_collected_with_its_global_cycles() {
    let mut interp = Interp::new();
    interp.run("(define (f) 1) (define (g) (f))").unwrap();
    assert_eq!(Interp::live_environments(), 1);
    drop(interp);
    // Every function defined at the top level holds the global environment, which holds it.
    assert_eq!(Interp::live_environments(), 1, "a cycle: reference counting alone cannot free it");
    gen_gc::collect();
    assert_eq!(Interp::live_environments(), 0);
    assert_eq!(count("Lambda"), 0);
}

#[test]
fn rc_leaks_a_dropped_interpreter() {
    let mut interp = lisp::rc::Interp::new();
    interp.eval_to_string("(define (f) 1)").unwrap();
    drop(interp);
    assert_eq!(lisp::rc::Interp::live_environments(), 1);
}

#[test]
fn an_interpreter_without_functions_is_freed_by_reference_counting() {
    let mut interp = Interp::new();
    interp.run("(define x (list 1 2 3))").unwrap();
    drop(interp);
    assert_eq!(Interp::live_environments(), 0);
}

#[test]
fn a_long_list_is_freed_without_deep_recursion() {
    let length = 200_000 / std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut interp = Interp::new();
    let built = interp
        .run(&format!(
            "(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))
             (define long (build {length} '()))
             (length long)"
        ))
        .unwrap();
    assert_eq!(built.to_string(), length.to_string());
    // The last handle to the head frees the whole chain, one cell after another.
    interp.run("(set! long #f)").unwrap();
    assert!(count("Pair") < 100);
}
