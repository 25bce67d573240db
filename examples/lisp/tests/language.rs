//! The language, on both heaps: every program runs on `lisp::gc` and on `lisp::rc`, and the
//! two must print the same value or fail with the same error.

use lisp::{Error, Interpreter};

/// Runs `source` in a fresh interpreter on each heap and returns what both printed.
fn eval(source: &str) -> Result<String, Error> {
    let on_gc = lisp::gc::Interp::new().eval_to_string(source);
    let on_rc = lisp::rc::Interp::new().eval_to_string(source);
    assert_eq!(on_gc, on_rc, "the heaps disagree on {source}");
    on_gc
}

fn ok(source: &str) -> String {
    eval(source).unwrap_or_else(|error| panic!("{source}: {error}"))
}

/// Map, filter, fold and range, written in the language.
const LIST_LIBRARY: &str = "
    (define (map f xs)
      (if (null? xs) '() (cons (f (car xs)) (map f (cdr xs)))))
    (define (filter keep? xs)
      (cond ((null? xs) '())
            ((keep? (car xs)) (cons (car xs) (filter keep? (cdr xs))))
            (else (filter keep? (cdr xs)))))
    (define (fold f acc xs)
      (if (null? xs) acc (fold f (f acc (car xs)) (cdr xs))))
    (define (range from to)
      (if (>= from to) '() (cons from (range (+ from 1) to))))
";

#[test]
fn integer_arithmetic() {
    assert_eq!(ok("(+ 1 2 3)"), "6");
    assert_eq!(ok("(- 10 4 3)"), "3");
    assert_eq!(ok("(- 5)"), "-5");
    assert_eq!(ok("(* 2 3 4)"), "24");
    assert_eq!(ok("(+)"), "0");
    assert_eq!(ok("(/ 12 3)"), "4");
    assert_eq!(ok("(remainder 17 5)"), "2");
    assert_eq!(ok("(* (+ 1 2) (- 10 (* 2 3)))"), "12");
}

#[test]
fn float_arithmetic_and_mixed_numbers() {
    assert_eq!(ok("(/ 7 2)"), "3.5");
    assert_eq!(ok("(+ 1 2.5)"), "3.5");
    assert_eq!(ok("(* 2.0 3)"), "6.0");
    assert_eq!(ok("(/ 2)"), "0.5");
    assert_eq!(ok("-.25"), "-0.25");
}

#[test]
fn comparisons_chain_over_their_arguments() {
    assert_eq!(ok("(< 1 2 3)"), "#t");
    assert_eq!(ok("(< 1 3 2)"), "#f");
    assert_eq!(ok("(>= 3 3 1)"), "#t");
    assert_eq!(ok("(= 2 2.0)"), "#t");
    assert_eq!(ok("(> 2.5 2)"), "#t");
    assert_eq!(ok("(<= 1 1)"), "#t");
}

#[test]
fn booleans_and_equality() {
    assert_eq!(ok("(not #f)"), "#t");
    assert_eq!(ok("(not 0)"), "#f");
    assert_eq!(ok("(eq? 'a 'a)"), "#t");
    assert_eq!(ok("(eq? (list 1) (list 1))"), "#f");
    assert_eq!(ok("(equal? (list 1 (vector 2 \"x\")) (list 1 (vector 2 \"x\")))"), "#t");
    assert_eq!(ok("(equal? '(1 2) '(1 3))"), "#f");
    assert_eq!(ok("(and 1 2 3)"), "3");
    assert_eq!(ok("(and 1 #f 3)"), "#f");
    assert_eq!(ok("(or #f 2 (car '()))"), "2");
    assert_eq!(ok("(list (and) (or))"), "(#t #f)");
}

#[test]
fn strings() {
    assert_eq!(ok("(string-append \"foo\" \"bar\")"), "\"foobar\"");
    assert_eq!(ok("(string-length \"héllo\")"), "5");
    assert_eq!(ok("(number->string 42)"), "\"42\"");
    assert_eq!(ok("(symbol->string 'abc)"), "\"abc\"");
    assert_eq!(ok(r#""a \"quoted\" word\n""#), r#""a \"quoted\" word\n""#);
    assert_eq!(ok("(list (string? \"s\") (string? 's) (symbol? 's))"), "(#t #f #t)");
}

#[test]
fn display_writes_to_the_interpreters_output() {
    assert_eq!(run_displaying::<lisp::gc::Interp>("(display \"n = \") (display 42) (newline)"), "n = 42\n");
    assert_eq!(run_displaying::<lisp::rc::Interp>("(display \"n = \") (display 42) (newline)"), "n = 42\n");
}

fn run_displaying<I: Interpreter>(source: &str) -> String {
    let mut interp = I::default();
    interp.eval_to_string(source).unwrap();
    interp.take_output()
}

#[test]
fn lists_and_quote() {
    assert_eq!(ok("(car '(1 2 3))"), "1");
    assert_eq!(ok("(cdr '(1 2 3))"), "(2 3)");
    assert_eq!(ok("(cons 1 2)"), "(1 . 2)");
    assert_eq!(ok("(cons 0 '(1 2))"), "(0 1 2)");
    assert_eq!(ok("(length (list 1 2 3))"), "3");
    assert_eq!(ok("(list (null? '()) (null? '(1)) (pair? '(1)) nil)"), "(#t #f #t ())");
    assert_eq!(ok("''a"), "(quote a)");
    assert_eq!(ok("'(a \"b\" (c 1.5) #t)"), "(a \"b\" (c 1.5) #t)");
}

#[test]
fn vectors() {
    assert_eq!(ok("(vector 1 \"two\" 'three)"), "#(1 \"two\" three)");
    assert_eq!(ok("(vector-ref (vector 1 2 3) 1)"), "2");
    assert_eq!(ok("(vector-length (vector))"), "0");
}

#[test]
fn define_returns_the_name_and_binds_it() {
    assert_eq!(ok("(define x 5)"), "x");
    assert_eq!(ok("(define x 5) (define (double y) (* 2 y)) (double x)"), "10");
    assert_eq!(ok("(define (f) 1) f"), "#<lambda f>");
    assert_eq!(ok("(lambda (x) x)"), "#<lambda>");
    assert_eq!(ok("car"), "#<native car>");
}

#[test]
fn let_begin_and_cond() {
    assert_eq!(ok("(let ((x 2) (y 3)) (* x y))"), "6");
    assert_eq!(ok("(let ((x 1)) (let ((x 2) (y x)) (+ x y)))"), "3");
    assert_eq!(ok("(begin 1 2 3)"), "3");
    assert_eq!(ok("(begin)"), "()");
    assert_eq!(ok("(cond ((= 1 2) 'no) ((= 1 1) 'yes) (else 'other))"), "yes");
    assert_eq!(ok("(cond (#f 1) (else 2 3))"), "3");
    assert_eq!(ok("(cond ((+ 1 1)))"), "2");
    assert_eq!(ok("(if #f 1)"), "()");
}

#[test]
fn closures_keep_their_own_state_through_set() {
    let source = "
        (define (make-counter)
          (let ((n 0))
            (lambda () (set! n (+ n 1)) n)))
        (define a (make-counter))
        (define b (make-counter))
        (a) (a) (b)
        (list (a) (b))";
    assert_eq!(ok(source), "(3 2)");
}

#[test]
fn set_rebinds_where_the_name_is_bound() {
    assert_eq!(ok("(define x 1) (define (bump) (set! x (+ x 10))) (bump) (bump) x"), "21");
}

#[test]
fn recursion() {
    let fact = "(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))";
    assert_eq!(ok(&format!("{fact} (fact 20)")), "2432902008176640000");
    let fib = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))";
    assert_eq!(ok(&format!("{fib} (fib 20)")), "6765");
}

#[test]
fn mutual_recursion() {
    let source = "
        (define (even? n) (if (= n 0) #t (odd? (- n 1))))
        (define (odd? n) (if (= n 0) #f (even? (- n 1))))
        (list (even? 10) (odd? 7) (even? 3))";
    assert_eq!(ok(source), "(#t #t #f)");
}

#[test]
fn tail_calls_run_in_constant_stack() {
    let source = "
        (define (count-down n) (if (= n 0) 'done (count-down (- n 1))))
        (count-down 100000)";
    assert_eq!(ok(source), "done");
    let through_let_and_cond = "
        (define (loop n acc)
          (let ((next (- n 1)))
            (cond ((< n 1) acc)
                  (else (loop next (+ acc 1))))))
        (loop 100000 0)";
    assert_eq!(ok(through_let_and_cond), "100000");
}

#[test]
fn higher_order_functions_written_in_the_language() {
    let program = format!(
        "{LIST_LIBRARY}
        (list (map (lambda (x) (* x x)) (range 0 5))
              (filter (lambda (x) (= (remainder x 2) 0)) (range 0 10))
              (fold + 0 (map (lambda (x) (* x x)) (filter (lambda (x) (= (remainder x 2) 0)) (range 0 10)))))"
    );
    assert_eq!(ok(&program), "((0 1 4 9 16) (0 2 4 6 8) 120)");
}

#[test]
fn functions_are_values() {
    assert_eq!(ok("(define (adder n) (lambda (x) (+ x n))) ((adder 3) 4)"), "7");
    assert_eq!(ok("(define (twice f) (lambda (x) (f (f x)))) ((twice (twice (lambda (x) (* x 2)))) 1)"), "16");
    assert_eq!(ok("(apply + '(1 2 3))"), "6");
    assert_eq!(ok("(apply (lambda (a b) (- a b)) (list 10 3))"), "7");
    assert_eq!(ok("(list (procedure? car) (procedure? (lambda () 1)) (procedure? 'car))"), "(#t #t #f)");
}

#[test]
fn scoping_is_lexical() {
    let source = "
        (define x 'global)
        (define (get-x) x)
        (define (shadow x) (get-x))
        (shadow 'local)";
    assert_eq!(ok(source), "global");
    let inner = "
        (define (outer x)
          (define (inner) x)
          (inner))
        (list (outer 1) (outer 2))";
    assert_eq!(ok(inner), "(1 2)");
}

#[test]
fn natives_with_state() {
    assert_eq!(ok("(define tick (counter 5)) (tick) (tick) (list (tick) (tick))"), "(7 8)");
    assert_eq!(ok("((compose (lambda (x) (* x 2)) (lambda (x) (+ x 1))) 5)"), "12");
    assert_eq!(ok("((compose car cdr) '(1 2 3))"), "2");
    assert_eq!(ok("(counter 0)"), "#<native counter>");
}

#[test]
fn errors_of_names_and_types() {
    assert_eq!(eval("(foo 1)"), Err(Error::Unbound("foo".into())));
    assert_eq!(eval("(set! nowhere 1)"), Err(Error::Unbound("nowhere".into())));
    assert_eq!(eval("(car 5)"), Err(Error::Type { expected: "pair", found: "5".into() }));
    assert_eq!(eval("(+ 1 \"a\")"), Err(Error::Type { expected: "number", found: "\"a\"".into() }));
    assert_eq!(
        eval("(vector-ref (vector 1) 1)"),
        Err(Error::Type { expected: "index into the vector", found: "1".into() })
    );
    assert_eq!(eval("(length (cons 1 2))"), Err(Error::Type { expected: "list", found: "(1 . 2)".into() }));
    assert_eq!(eval("(5 3)"), Err(Error::NotCallable("5".into())));
    assert_eq!(eval("(compose 1 car)"), Err(Error::Type { expected: "procedure", found: "1".into() }));
}

#[test]
fn errors_of_arity() {
    assert_eq!(
        eval("((lambda (x) x))"),
        Err(Error::Arity { callee: "#<lambda>".into(), expected: "1".into(), given: 0 })
    );
    assert_eq!(
        eval("(define (f a b) a) (f 1 2 3)"),
        Err(Error::Arity { callee: "#<lambda f>".into(), expected: "2".into(), given: 3 })
    );
    assert_eq!(eval("(car)"), Err(Error::Arity { callee: "#<native car>".into(), expected: "1".into(), given: 0 }));
}

#[test]
fn errors_of_arithmetic() {
    assert_eq!(eval("(/ 1 0)"), Err(Error::DivisionByZero));
    assert_eq!(eval("(remainder 1 0)"), Err(Error::DivisionByZero));
    assert_eq!(eval("(* 9223372036854775807 2)"), Err(Error::Overflow));
    assert_eq!(eval("(- -9223372036854775807 2)"), Err(Error::Overflow));
    assert_eq!(eval("(/ 1.0 0)"), Ok("inf".into()));
}

#[test]
fn errors_of_syntax() {
    let syntax = |message: &str| Err(Error::Syntax(message.into()));
    assert_eq!(eval("(+ 1 2"), syntax("missing `)`"));
    assert_eq!(eval("(+ 1 2))"), syntax("unexpected `)`"));
    assert_eq!(eval("\"unterminated"), syntax("a string with no closing `\"`"));
    assert_eq!(eval("'"), syntax("a quote mark at the end of the input"));
    assert_eq!(eval("12abc"), syntax("bad number `12abc`"));
    assert_eq!(eval("#x"), syntax("unknown syntax `#x`"));
    assert_eq!(eval("(if)"), syntax("bad `if` form"));
    assert_eq!(eval("(if 1 2 3 4)"), syntax("bad `if` form"));
    assert_eq!(eval("(let ((x)) x)"), syntax("bad `let` form"));
    assert_eq!(eval("(lambda (1) 1)"), syntax("bad `lambda` form"));
    assert_eq!(eval("(lambda (x x) x)"), syntax("bad `lambda` form"));
    assert_eq!(eval("(lambda (x))"), syntax("bad `lambda` form"));
    assert_eq!(eval("(define 5 1)"), syntax("bad `define` form"));
    assert_eq!(eval(&"(".repeat(5_000)), syntax("lists nested deeper than 1000"));
}

#[test]
fn programs_raise_their_own_errors() {
    assert_eq!(eval("(error \"boom:\" 42 \"x\")"), Err(Error::Raised("boom: 42 \"x\"".into())));
    assert_eq!(Error::Raised("boom".into()).to_string(), "boom");
}

#[test]
fn recursion_that_never_ends_is_an_error_not_a_crash() {
    assert_eq!(eval("(define (deep n) (+ 1 (deep n))) (deep 1)"), Err(Error::TooDeep));
    assert_eq!(eval("(define (f x) ((compose f f) x)) (f 1)"), Err(Error::TooDeep));
}

#[test]
fn an_interpreter_goes_on_after_an_error() {
    let mut interp = lisp::gc::Interp::new();
    assert_eq!(interp.eval_to_string("(define x 1) (car x)"), Err(Error::Type { expected: "pair", found: "1".into() }));
    assert_eq!(interp.eval_to_string("(define (deep) (+ 1 (deep))) (deep)"), Err(Error::TooDeep));
    assert_eq!(interp.eval_to_string("(+ x 1)"), Ok("2".into()));
}

#[test]
fn comments_and_whitespace_are_skipped() {
    assert_eq!(ok("; a comment\n(+ 1 ; inline\n 2) ; trailing"), "3");
    assert_eq!(ok(""), "()");
}
