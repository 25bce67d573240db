//! The reader: source text to values. Code is data: a program is read into the same lists,
//! symbols and strings it computes with, all on the heap.
//!
//! The reader keeps its open lists on a stack of its own rather than recursing, so deeply
//! nested input is an error, not a stack overflow.

use super::value::MAX_NESTING;
use super::{Interp, Value};
use crate::Error;

enum Token<'s> {
    Open,
    Close,
    Quote,
    Str(String),
    Atom(&'s str),
}

/// Reads every form of `source`.
pub(super) fn read(interp: &mut Interp, source: &str) -> Result<Vec<Value>, Error> {
    let mut tokens = Tokens { rest: source };
    let mut forms = Vec::new();
    // The lists being read, innermost last, each with the quote marks written before it.
    let mut open: Vec<(Vec<Value>, usize)> = Vec::new();
    // Quote marks waiting for the next datum.
    let mut quotes = 0;
    while let Some(token) = tokens.next()? {
        let (datum, quote_marks) = match token {
            Token::Quote => {
                quotes += 1;
                continue;
            }
            Token::Open => {
                if open.len() == MAX_NESTING {
                    return Err(Error::Syntax(format!("lists nested deeper than {MAX_NESTING}")));
                }
                open.push((Vec::new(), std::mem::take(&mut quotes)));
                continue;
            }
            Token::Close => {
                let (items, quote_marks) = open.pop().ok_or_else(|| syntax("unexpected `)`"))?;
                if quotes > 0 {
                    return Err(syntax("a quote mark before `)`"));
                }
                (Value::list(items), quote_marks)
            }
            Token::Str(text) => (Value::Str(text.into()), std::mem::take(&mut quotes)),
            Token::Atom(text) => (atom(interp, text)?, std::mem::take(&mut quotes)),
        };
        let datum = if quote_marks == 0 {
            datum
        } else {
            let quote = Value::Symbol(interp.intern("quote"));
            (0..quote_marks).fold(datum, |datum, _| Value::list([quote.clone(), datum]))
        };
        match open.last_mut() {
            Some((items, _)) => items.push(datum),
            None => forms.push(datum),
        }
    }
    if !open.is_empty() {
        return Err(syntax("missing `)`"));
    }
    if quotes > 0 {
        return Err(syntax("a quote mark at the end of the input"));
    }
    Ok(forms)
}

fn syntax(message: &str) -> Error {
    Error::Syntax(message.to_owned())
}

/// A number, a boolean or a symbol.
fn atom(interp: &mut Interp, text: &str) -> Result<Value, Error> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let numeric = unsigned.starts_with(|c: char| c.is_ascii_digit())
        || (unsigned.starts_with('.') && unsigned[1..].starts_with(|c: char| c.is_ascii_digit()));
    if numeric {
        return if let Ok(n) = text.parse::<i64>() {
            Ok(Value::Int(n))
        } else if let Ok(x) = text.parse::<f64>() {
            Ok(Value::Float(x))
        } else {
            Err(Error::Syntax(format!("bad number `{text}`")))
        };
    }
    match text {
        "#t" => Ok(Value::Bool(true)),
        "#f" => Ok(Value::Bool(false)),
        _ if text.starts_with('#') => Err(Error::Syntax(format!("unknown syntax `{text}`"))),
        _ => Ok(Value::Symbol(interp.intern(text))),
    }
}

struct Tokens<'s> {
    rest: &'s str,
}

impl<'s> Tokens<'s> {
    fn next(&mut self) -> Result<Option<Token<'s>>, Error> {
        loop {
            self.rest = self.rest.trim_start();
            match self.rest.strip_prefix(';') {
                Some(comment) => self.rest = comment.split_once('\n').map_or("", |(_, after)| after),
                None => break,
            }
        }
        let mut chars = self.rest.chars();
        let Some(first) = chars.next() else { return Ok(None) };
        let token = match first {
            '(' => Token::Open,
            ')' => Token::Close,
            '\'' => Token::Quote,
            '"' => return self.string().map(Some),
            _ => {
                let end =
                    self.rest.find(|c: char| c.is_whitespace() || "()'\";".contains(c)).unwrap_or(self.rest.len());
                let (atom, rest) = self.rest.split_at(end);
                self.rest = rest;
                return Ok(Some(Token::Atom(atom)));
            }
        };
        self.rest = chars.as_str();
        Ok(Some(token))
    }

    /// A string literal, from its opening quote.
    fn string(&mut self) -> Result<Token<'s>, Error> {
        let mut text = String::new();
        let mut chars = self.rest[1..].chars();
        loop {
            match chars.next() {
                None => return Err(syntax("a string with no closing `\"`")),
                Some('"') => break,
                Some('\\') => text.push(match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some(c @ ('\\' | '"')) => c,
                    _ => return Err(syntax("unknown escape in a string")),
                }),
                Some(c) => text.push(c),
            }
        }
        self.rest = chars.as_str();
        Ok(Token::Str(text))
    }
}
