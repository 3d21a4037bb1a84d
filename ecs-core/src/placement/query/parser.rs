//! A recursive-descent parser for the cluster query language, with errors that give the
//! position and what was expected.
//!
//! ```text
//! expr    := or
//! or      := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | "(" expr ")" | test
//! test    := subject operator [argument]
//! ```

use std::fmt;

use super::ast::{Arg, Expr, Op, Subject, Test};

/// The longest expression ECS accepts.
pub const MAX_EXPRESSION_LEN: usize = 2000;

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: expected {expected}, found {found}")]
pub struct QueryError {
    /// 1-based column (in characters) where the problem is.
    pub column: usize,
    /// What the parser expected there.
    pub expected: String,
    /// What it found.
    pub found: String,
}

pub(super) fn parse(text: &str) -> Result<Expr, QueryError> {
    if text.chars().count() > MAX_EXPRESSION_LEN {
        return Err(QueryError {
            column: MAX_EXPRESSION_LEN + 1,
            expected: format!("at most {MAX_EXPRESSION_LEN} characters"),
            found: format!("{} characters", text.chars().count()),
        });
    }
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let expr = p.or()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error("`and`, `or` or the end of the expression"));
    }
    Ok(expr)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Nesting of `not` and parentheses, bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

/// The deepest nesting of `not` and parentheses accepted.
const MAX_DEPTH: usize = 64;

/// Characters of a bare word: subjects, operators spelled out, and literal values.
fn is_word(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '(' | ')' | '[' | ']' | ',' | '\'' | '"' | '!' | '=' | '<' | '>' | '&' | '|'
        )
}

impl Parser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the expression".to_owned(),
            Some(_) => {
                let rest: String = self.chars[self.pos..].iter().take(12).collect();
                let word: String = rest.split_whitespace().next().unwrap_or(&rest).to_owned();
                format!("{word:?}")
            }
        }
    }

    fn error(&self, expected: &str) -> QueryError {
        QueryError {
            column: self.pos + 1,
            expected: expected.to_owned(),
            found: self.found(),
        }
    }

    /// Consumes `s` if the input continues with it.
    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let matches = self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars());
        if matches {
            self.pos += n;
        }
        matches
    }

    /// Consumes the keyword `kw` (case-insensitive) when it stands as a whole word.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let n = kw.len();
        let Some(slice) = self.chars.get(self.pos..self.pos + n) else {
            return false;
        };
        let same = slice.iter().collect::<String>().eq_ignore_ascii_case(kw);
        let boundary = self.chars.get(self.pos + n).is_none_or(|&c| !is_word(c));
        if same && boundary {
            self.pos += n;
        }
        same && boundary
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_word) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        loop {
            self.skip_ws();
            if self.eat("||") || self.eat_keyword("or") {
                let right = self.and()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            if self.eat("&&") || self.eat_keyword("and") {
                let right = self.unary()?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        self.skip_ws();
        if self.depth >= MAX_DEPTH {
            return Err(self.error(&format!(
                "at most {MAX_DEPTH} levels of `not` and parentheses"
            )));
        }
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, QueryError> {
        if self.eat_keyword("not")
            || (self.peek() == Some('!') && !self.peek_operator_after_bang() && self.eat("!"))
        {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            self.skip_ws();
            if !self.eat(")") {
                return Err(self.error("`)`"));
            }
            return Ok(inner);
        }
        self.test().map(Expr::Test)
    }

    /// `!` starts a negation, except in `!=`, `!~`, `!in` and `!exists`, which are
    /// operators (and never start an expression anyway).
    fn peek_operator_after_bang(&self) -> bool {
        matches!(self.chars.get(self.pos + 1), Some('=' | '~'))
    }

    fn test(&mut self) -> Result<Test, QueryError> {
        self.skip_ws();
        let start = self.pos;
        let word = self.word();
        let subject = match word.as_str() {
            "" => {
                return Err(self.error(
                    "a subject (attribute:NAME, ec2InstanceId, agentConnected, agentVersion, \
                     registeredAt, runningTasksCount, task:group), `not` or `(`",
                ));
            }
            "ec2InstanceId" => Subject::InstanceId,
            "agentConnected" => Subject::AgentConnected,
            "agentVersion" => Subject::AgentVersion,
            "registeredAt" => Subject::RegisteredAt,
            "runningTasksCount" => Subject::RunningTasksCount,
            "task:group" => Subject::TaskGroup,
            w => match w.strip_prefix("attribute:") {
                Some(name) if !name.is_empty() => Subject::Attribute(name.to_owned()),
                _ => {
                    self.pos = start;
                    return Err(self.error(
                        "a subject (attribute:NAME, ec2InstanceId, agentConnected, agentVersion, \
                         registeredAt, runningTasksCount, task:group)",
                    ));
                }
            },
        };
        self.skip_ws();
        let op = self.operator()?;
        if subject == Subject::TaskGroup
            && matches!(
                op,
                Op::Gt | Op::Ge | Op::Lt | Op::Le | Op::Matches | Op::NotMatches
            )
        {
            self.pos = start;
            return Err(self.error("task:group with ==, !=, in, !in, exists or !exists"));
        }
        let arg = match op {
            Op::Exists | Op::NotExists => Arg::None,
            Op::In | Op::NotIn => Arg::List(self.list()?),
            Op::Matches | Op::NotMatches => self.pattern()?,
            _ => Arg::Value(self.value()?),
        };
        Ok(Test { subject, op, arg })
    }

    fn operator(&mut self) -> Result<Op, QueryError> {
        const SYMBOLS: &[(&str, Op)] = &[
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=~", Op::Matches),
            ("!~", Op::NotMatches),
        ];
        const WORDS: &[(&str, Op)] = &[
            ("!exists", Op::NotExists),
            ("!in", Op::NotIn),
            ("equals", Op::Eq),
            ("not_equals", Op::Ne),
            ("greater_than_equal", Op::Ge),
            ("greater_than", Op::Gt),
            ("less_than_equal", Op::Le),
            ("less_than", Op::Lt),
            ("exists", Op::Exists),
            ("not_exists", Op::NotExists),
            ("in", Op::In),
            ("not_in", Op::NotIn),
            ("matches", Op::Matches),
            ("not_matches", Op::NotMatches),
        ];
        for (word, op) in WORDS {
            if let Some(rest) = word.strip_prefix('!') {
                let save = self.pos;
                if self.eat("!") && self.eat_keyword(rest) {
                    return Ok(*op);
                }
                self.pos = save;
            } else if self.eat_keyword(word) {
                return Ok(*op);
            }
        }
        for (symbol, op) in SYMBOLS {
            if self.eat(symbol) {
                return Ok(*op);
            }
        }
        Err(self.error(
            "an operator (==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~, or their \
             names such as equals and not_in)",
        ))
    }

    /// A literal: a bare word or a quoted string.
    fn value(&mut self) -> Result<String, QueryError> {
        self.skip_ws();
        if let Some(q @ ('\'' | '"')) = self.peek() {
            let start = self.pos;
            self.pos += 1;
            let body_start = self.pos;
            while self.peek().is_some_and(|c| c != q) {
                self.pos += 1;
            }
            if self.peek() != Some(q) {
                self.pos = start;
                return Err(self.error(&format!("a closing {q}")));
            }
            let value = self.chars[body_start..self.pos].iter().collect();
            self.pos += 1;
            return Ok(value);
        }
        let word = self.word();
        if word.is_empty() {
            return Err(self.error("a value"));
        }
        Ok(word)
    }

    fn list(&mut self) -> Result<Vec<String>, QueryError> {
        self.skip_ws();
        if !self.eat("[") {
            return Err(self.error("`[` starting a list such as [a, b]"));
        }
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if items.is_empty() && self.eat("]") {
                return Ok(items);
            }
            items.push(self.value()?);
            self.skip_ws();
            if self.eat("]") {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(self.error("`,` or `]`"));
            }
        }
    }

    /// A regular expression: a quoted string, or everything up to whitespace or an
    /// unbalanced `)` (so `(attribute:t =~ g2.*)` reads `g2.*`).
    fn pattern(&mut self) -> Result<Arg, QueryError> {
        self.skip_ws();
        let start = self.pos;
        let text = if matches!(self.peek(), Some('\'' | '"')) {
            self.value()?
        } else {
            let mut depth = 0usize;
            while let Some(c) = self.peek() {
                let next = self.chars.get(self.pos + 1).copied();
                let combinator =
                    depth == 0 && matches!((c, next), ('&', Some('&')) | ('|', Some('|')));
                if c.is_whitespace() || (c == ')' && depth == 0) || combinator {
                    break;
                }
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                self.pos += 1;
            }
            self.chars[start..self.pos].iter().collect()
        };
        if text.is_empty() {
            return Err(self.error("a pattern"));
        }
        // Checked alone first: `a)|(b` would otherwise slip through the anchoring.
        regex::Regex::new(&text)
            .and_then(|_| regex::Regex::new(&format!("^(?:{text})$")))
            .map(Arg::Pattern)
            .map_err(|e| {
                let detail = e.to_string();
                let last = detail.lines().last().unwrap_or("").trim().to_owned();
                QueryError {
                    column: start + 1,
                    expected: "a valid regular expression".to_owned(),
                    found: format!("{text:?} ({last})"),
                }
            })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Exists => "exists",
            Op::NotExists => "!exists",
            Op::In => "in",
            Op::NotIn => "!in",
            Op::Matches => "=~",
            Op::NotMatches => "!~",
        })
    }
}
