//! The parsed form of a cluster query expression.

use std::fmt;

/// A cluster query expression, e.g.
/// `attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d`.
#[derive(Debug, Clone)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// It does not hold.
    Not(Box<Expr>),
    /// One `subject operator [argument]` test.
    Test(Test),
}

/// `subject operator [argument]`.
#[derive(Debug, Clone)]
pub struct Test {
    /// What is tested.
    pub subject: Subject,
    /// How.
    pub op: Op,
    /// Against what.
    pub arg: Arg,
}

/// What a test looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `attribute:NAME`: a built-in or custom attribute of the instance.
    Attribute(String),
    /// `ec2InstanceId`: the instance's id.
    InstanceId,
    /// `agentConnected`: `true` or `false`.
    AgentConnected,
    /// `agentVersion`: compared as a version.
    AgentVersion,
    /// `registeredAt`: compared as a date.
    RegisteredAt,
    /// `runningTasksCount`: compared as a number.
    RunningTasksCount,
    /// `task:group`: the task groups of the tasks on the instance (affinity).
    TaskGroup,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Attribute(name) => write!(f, "attribute:{name}"),
            Subject::InstanceId => f.write_str("ec2InstanceId"),
            Subject::AgentConnected => f.write_str("agentConnected"),
            Subject::AgentVersion => f.write_str("agentVersion"),
            Subject::RegisteredAt => f.write_str("registeredAt"),
            Subject::RunningTasksCount => f.write_str("runningTasksCount"),
            Subject::TaskGroup => f.write_str("task:group"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`, `equals`.
    Eq,
    /// `!=`, `not_equals`.
    Ne,
    /// `>`, `greater_than`.
    Gt,
    /// `>=`, `greater_than_equal`.
    Ge,
    /// `<`, `less_than`.
    Lt,
    /// `<=`, `less_than_equal`.
    Le,
    /// `exists`.
    Exists,
    /// `!exists`, `not_exists`.
    NotExists,
    /// `in [a, b]`.
    In,
    /// `!in`, `not_in`.
    NotIn,
    /// `=~`, `matches` (a Java-style regular expression, matching the whole value).
    Matches,
    /// `!~`, `not_matches`.
    NotMatches,
}

/// A test's argument.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `exists` and `!exists` take none.
    None,
    /// A literal.
    Value(String),
    /// `[a, b, c]`.
    List(Vec<String>),
    /// A compiled pattern, anchored at both ends.
    Pattern(regex::Regex),
}
