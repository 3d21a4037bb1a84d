//! The cluster query language of `memberOf` constraints: parse once, evaluate per
//! container instance.
//!
//! Subjects: `attribute:NAME`, `ec2InstanceId`, `agentConnected`, `agentVersion`,
//! `registeredAt`, `runningTasksCount`, `task:group`. Operators: `==`, `!=`, `>`, `>=`,
//! `<`, `<=`, `exists`, `!exists`, `in [..]`, `!in [..]`, `=~`, `!~` (and their names,
//! `equals`, `not_in` ...). Combinators: `and`/`&&`, `or`/`||`, `not`/`!`, parentheses.
//!
//! ```
//! use ecs_core::placement::query::Query;
//!
//! let q: Query = "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d"
//!     .parse()?;
//! assert!(q.is_static());
//! let err = "attribute:stack === prod".parse::<Query>().unwrap_err();
//! assert_eq!(err.to_string(), "at column 19: expected a value, found \"=\"");
//! # Ok::<(), ecs_core::placement::query::QueryError>(())
//! ```

mod ast;
mod eval;
mod parser;

use std::fmt;
use std::str::FromStr;

pub use ast::{Arg, Expr, Op, Subject, Test};
pub use eval::QueryTarget;
pub use parser::{MAX_EXPRESSION_LEN, QueryError};

/// A parsed cluster query expression, with its text.
#[derive(Debug, Clone)]
pub struct Query {
    text: String,
    expr: Expr,
    is_static: bool,
}

impl Query {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let expr = parser::parse(text)?;
        let is_static = static_expr(&expr);
        Ok(Self {
            text: text.to_owned(),
            expr,
            is_static,
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the result depends only on the instance's attributes other than its id,
    /// so that instances with the same attributes always agree. (Tests of the instance
    /// id, the agent, counts and task groups are not static.)
    pub fn is_static(&self) -> bool {
        self.is_static
    }

    /// Whether any test of the expression looks at a subject `pred` selects.
    pub fn mentions(&self, pred: impl Fn(&Subject) -> bool) -> bool {
        fn walk(expr: &Expr, pred: &dyn Fn(&Subject) -> bool) -> bool {
            match expr {
                Expr::And(a, b) | Expr::Or(a, b) => walk(a, pred) || walk(b, pred),
                Expr::Not(a) => walk(a, pred),
                Expr::Test(t) => pred(&t.subject),
            }
        }
        walk(&self.expr, &pred)
    }

    /// Whether `target` satisfies the expression.
    pub fn matches(&self, target: &dyn QueryTarget) -> bool {
        eval::eval(&self.expr, target)
    }
}

fn static_expr(expr: &Expr) -> bool {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => static_expr(a) && static_expr(b),
        Expr::Not(a) => static_expr(a),
        Expr::Test(t) => {
            matches!(&t.subject, Subject::Attribute(name) if name != crate::cluster::attributes::INSTANCE_ID)
        }
    }
}

impl FromStr for Query {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, QueryError> {
        Self::parse(s)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
