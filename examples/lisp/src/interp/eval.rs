//! Evaluation: special forms, calls, and tail calls in a loop.
//!
//! [`Interp::eval`] recurses in Rust only for the parts of a form that are not in tail
//! position: a call's operator and arguments, the test of an `if`, the expressions of a body
//! before its last. What a form evaluates in tail position (a call's body, the branches of
//! `if`, the last expression of `begin` or `let`) is taken up by the same loop, so a loop
//! written as a tail-recursive function runs in constant Rust stack however often it turns.

use super::{Env, Interp, Lambda, Ptr, Symbol, Value};
use crate::Error;

/// How much Rust stack evaluation may use, from where the outermost `eval` or `apply` began.
///
/// A recursion that is not a tail call takes stack for every call, and a program that
/// recurses without end must get [`Error::TooDeep`], not a stack overflow. Counting calls
/// would not do: a level takes about 450 bytes in a release build and 2.8 KiB in a debug
/// build. So the interpreter measures the stack itself (as CPython 3.12 does): half of the
/// 2 MiB a spawned thread gets, enough for about 2,400 nested calls in a release build.
const STACK_BUDGET: usize = 1 << 20;

/// The special forms: syntax, not functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Form {
    Quote,
    If,
    Define,
    Set,
    Lambda,
    Let,
    Begin,
    And,
    Or,
    Cond,
}

impl Form {
    pub(super) const ALL: &[Form] = &[
        Form::Quote,
        Form::If,
        Form::Define,
        Form::Set,
        Form::Lambda,
        Form::Let,
        Form::Begin,
        Form::And,
        Form::Or,
        Form::Cond,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Form::Quote => "quote",
            Form::If => "if",
            Form::Define => "define",
            Form::Set => "set!",
            Form::Lambda => "lambda",
            Form::Let => "let",
            Form::Begin => "begin",
            Form::And => "and",
            Form::Or => "or",
            Form::Cond => "cond",
        }
    }
}

/// What a special form leaves to do.
enum Step {
    /// Nothing: this is its value.
    Value(Value),
    /// Evaluate this expression in tail position, in the same environment.
    Tail(Value),
    /// Evaluate this expression in tail position, in a new environment.
    TailIn(Value, Ptr<Env>),
}

/// The elements of a list in a special form, borrowed; a list of the wrong shape is a syntax
/// error of that form.
struct Items<'a> {
    form: Form,
    rest: &'a Value,
}

impl<'a> Items<'a> {
    fn new(form: Form, list: &'a Value) -> Items<'a> {
        Items { form, rest: list }
    }

    fn next(&mut self) -> Result<Option<&'a Value>, Error> {
        match self.rest {
            Value::Nil => Ok(None),
            Value::Pair(pair) => {
                self.rest = &pair.cdr;
                Ok(Some(&pair.car))
            }
            _ => Err(self.malformed()),
        }
    }

    fn required(&mut self) -> Result<&'a Value, Error> {
        self.next()?.ok_or_else(|| self.malformed())
    }

    fn symbol(&mut self) -> Result<&'a Symbol, Error> {
        match self.required()? {
            Value::Symbol(name) => Ok(name),
            _ => Err(self.malformed()),
        }
    }

    fn end(&mut self) -> Result<(), Error> {
        match self.next()? {
            None => Ok(()),
            Some(_) => Err(self.malformed()),
        }
    }

    fn malformed(&self) -> Error {
        Error::Syntax(format!("bad `{}` form", self.form.name()))
    }
}

impl Interp {
    /// Evaluates `expr` in `env`.
    pub fn eval(&mut self, expr: &Value, env: &Ptr<Env>) -> Result<Value, Error> {
        match expr {
            Value::Symbol(name) => lookup(env, name),
            Value::Pair(_) => {
                self.enter()?;
                let result = self.eval_loop(expr.clone(), env.clone());
                self.depth -= 1;
                result
            }
            _ => Ok(expr.clone()),
        }
    }

    /// Calls `function` with `args`: how natives call back into the language.
    pub fn apply(&mut self, function: &Value, args: Vec<Value>) -> Result<Value, Error> {
        self.enter()?;
        let result = match function {
            Value::Lambda(lambda) => self.call_lambda(lambda, args),
            Value::Native(native) => native.call(self, &args),
            other => Err(Error::NotCallable(other.to_string())),
        };
        self.depth -= 1;
        result
    }

    fn enter(&mut self) -> Result<(), Error> {
        let here = stack_position();
        if self.depth == 0 {
            self.stack_base = here;
        } else if self.stack_base.abs_diff(here) > STACK_BUDGET {
            return Err(Error::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    fn call_lambda(&mut self, lambda: &Lambda, args: Vec<Value>) -> Result<Value, Error> {
        let env = lambda.bind(args)?;
        let last = self.all_but_last(&lambda.body, &env)?;
        self.eval(&last, &env)
    }

    /// Evaluates the expressions of a lambda's body but the last, which it returns.
    fn all_but_last(&mut self, body: &[Value], env: &Ptr<Env>) -> Result<Value, Error> {
        let Some((last, init)) = body.split_last() else { return Ok(Value::Nil) };
        for expr in init {
            self.eval(expr, env)?;
        }
        Ok(last.clone())
    }

    fn eval_loop(&mut self, mut expr: Value, mut env: Ptr<Env>) -> Result<Value, Error> {
        loop {
            let form = match &expr {
                Value::Symbol(name) => return lookup(&env, name),
                Value::Pair(form) => form.clone(),
                _ => return Ok(expr),
            };
            if let Value::Symbol(name) = &form.car
                && let Some(&special) = self.forms.get(name)
            {
                match self.special_form(special, &form.cdr, &env)? {
                    Step::Value(value) => return Ok(value),
                    Step::Tail(next) => expr = next,
                    Step::TailIn(next, next_env) => (expr, env) = (next, next_env),
                }
                continue;
            }
            let callee = self.eval(&form.car, &env)?;
            let mut args = Vec::new();
            let mut rest = &form.cdr;
            while let Value::Pair(arg) = rest {
                args.push(self.eval(&arg.car, &env)?);
                rest = &arg.cdr;
            }
            if !matches!(rest, Value::Nil) {
                return Err(Error::Syntax(format!("a call with a dotted argument list: {expr}")));
            }
            match callee {
                Value::Lambda(lambda) => {
                    env = lambda.bind(args)?;
                    expr = self.all_but_last(&lambda.body, &env)?;
                }
                Value::Native(native) => return native.call(self, &args),
                other => return Err(Error::NotCallable(other.to_string())),
            }
        }
    }

    fn special_form(&mut self, form: Form, rest: &Value, env: &Ptr<Env>) -> Result<Step, Error> {
        let mut items = Items::new(form, rest);
        Ok(match form {
            Form::Quote => {
                let datum = items.required()?;
                items.end()?;
                Step::Value(datum.clone())
            }
            Form::If => {
                let test = items.required()?;
                let then = items.required()?;
                let otherwise = items.next()?;
                items.end()?;
                match (self.eval(test, env)?.is_true(), otherwise) {
                    (true, _) => Step::Tail(then.clone()),
                    (false, Some(otherwise)) => Step::Tail(otherwise.clone()),
                    (false, None) => Step::Value(Value::Nil),
                }
            }
            Form::Define => match items.required()? {
                Value::Symbol(name) => {
                    let value = self.eval(items.required()?, env)?;
                    items.end()?;
                    env.define(name.clone(), value);
                    Step::Value(Value::Symbol(name.clone()))
                }
                Value::Pair(signature) => {
                    let Value::Symbol(name) = &signature.car else { return Err(items.malformed()) };
                    let lambda = make_lambda(Some(name.clone()), Items::new(form, &signature.cdr), items, env)?;
                    env.define(name.clone(), lambda);
                    Step::Value(Value::Symbol(name.clone()))
                }
                _ => return Err(items.malformed()),
            },
            Form::Set => {
                let name = items.symbol()?;
                let value = self.eval(items.required()?, env)?;
                items.end()?;
                env.set(name, value)?;
                Step::Value(Value::Nil)
            }
            Form::Lambda => {
                let params = Items::new(form, items.required()?);
                Step::Value(make_lambda(None, params, items, env)?)
            }
            Form::Let => {
                let mut bindings = Items::new(form, items.required()?);
                let mut bound = Vec::new();
                while let Some(binding) = bindings.next()? {
                    let mut binding = Items::new(form, binding);
                    let name = binding.symbol()?;
                    let value = self.eval(binding.required()?, env)?;
                    binding.end()?;
                    bound.push((name.clone(), value));
                }
                let scope = Env::new(Some(env.clone()), bound.len());
                for (name, value) in bound {
                    scope.define(name, value);
                }
                let last = self.sequence(items, &scope)?;
                Step::TailIn(last, scope)
            }
            Form::Begin => match rest {
                Value::Nil => Step::Value(Value::Nil),
                _ => Step::Tail(self.sequence(items, env)?),
            },
            Form::And | Form::Or => {
                // `and` stops at the first false value, `or` at the first true one.
                let stop_when = form == Form::Or;
                let Some(mut current) = items.next()? else { return Ok(Step::Value(Value::Bool(!stop_when))) };
                while let Some(next) = items.next()? {
                    let value = self.eval(current, env)?;
                    if value.is_true() == stop_when {
                        return Ok(Step::Value(value));
                    }
                    current = next;
                }
                Step::Tail(current.clone())
            }
            Form::Cond => {
                while let Some(clause) = items.next()? {
                    let mut clause = Items::new(form, clause);
                    let test = clause.required()?;
                    let is_else = matches!(test, Value::Symbol(name) if name.name() == "else");
                    let value = if is_else { Value::Bool(true) } else { self.eval(test, env)? };
                    if value.is_true() {
                        return Ok(match clause.rest {
                            Value::Nil => Step::Value(value),
                            _ => Step::Tail(self.sequence(clause, env)?),
                        });
                    }
                }
                Step::Value(Value::Nil)
            }
        })
    }

    /// Evaluates the expressions of `items` but the last, which it returns; at least one is
    /// required.
    fn sequence(&mut self, mut items: Items<'_>, env: &Ptr<Env>) -> Result<Value, Error> {
        let mut current = items.required()?;
        while let Some(next) = items.next()? {
            self.eval(current, env)?;
            current = next;
        }
        Ok(current.clone())
    }
}

/// Where the stack is now: the address of a local.
fn stack_position() -> usize {
    let marker = 0_u8;
    std::hint::black_box(&raw const marker).addr()
}

fn lookup(env: &Env, name: &Symbol) -> Result<Value, Error> {
    env.lookup(name).ok_or_else(|| Error::Unbound(name.name().to_owned()))
}

/// A lambda made in `env`, with the parameters and body the items list.
fn make_lambda(
    name: Option<Symbol>,
    mut params: Items<'_>,
    mut body: Items<'_>,
    env: &Ptr<Env>,
) -> Result<Value, Error> {
    let mut names: Vec<Symbol> = Vec::new();
    while let Some(param) = params.next()? {
        match param {
            Value::Symbol(param) if !names.contains(param) => names.push(param.clone()),
            _ => return Err(params.malformed()),
        }
    }
    let mut exprs = Vec::new();
    while let Some(expr) = body.next()? {
        exprs.push(expr.clone());
    }
    if exprs.is_empty() {
        return Err(body.malformed());
    }
    Ok(Value::Lambda(Ptr::new(Lambda { name, params: Ptr::from(names), body: Ptr::from(exprs), env: env.clone() })))
}
