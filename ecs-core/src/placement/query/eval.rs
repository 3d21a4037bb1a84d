//! Evaluating an expression against one container instance.

use std::cmp::Ordering;

use super::ast::{Arg, Expr, Op, Subject, Test};

/// What an expression can ask about a container instance.
pub trait QueryTarget {
    /// The attribute's value: `None` when absent, `Some(None)` when present without value.
    fn attribute(&self, name: &str) -> Option<Option<&str>>;
    /// The instance id.
    fn instance_id(&self) -> &str;
    /// Whether the agent is connected.
    fn agent_connected(&self) -> bool;
    /// The agent's version, when known.
    fn agent_version(&self) -> Option<&str>;
    /// When the instance registered.
    fn registered_at(&self) -> jiff::Timestamp;
    /// How many tasks run (or hold resources) on it.
    fn running_tasks_count(&self) -> u32;
    /// Whether a task of `group` runs on it.
    fn has_task_group(&self, group: &str) -> bool;
}

pub(super) fn eval(expr: &Expr, target: &dyn QueryTarget) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, target) && eval(b, target),
        Expr::Or(a, b) => eval(a, target) || eval(b, target),
        Expr::Not(a) => !eval(a, target),
        Expr::Test(t) => test(t, target),
    }
}

fn test(t: &Test, target: &dyn QueryTarget) -> bool {
    // task:group asks "does the instance run a task of this group", for any operator
    // that names groups.
    if t.subject == Subject::TaskGroup {
        return match (&t.op, &t.arg) {
            (Op::Eq, Arg::Value(g)) => target.has_task_group(g),
            (Op::Ne, Arg::Value(g)) => !target.has_task_group(g),
            (Op::In, Arg::List(gs)) => gs.iter().any(|g| target.has_task_group(g)),
            (Op::NotIn, Arg::List(gs)) => !gs.iter().any(|g| target.has_task_group(g)),
            (Op::Exists, _) => target.running_tasks_count() > 0,
            (Op::NotExists, _) => target.running_tasks_count() == 0,
            _ => false,
        };
    }
    let owned;
    let value: Option<&str> = match &t.subject {
        Subject::Attribute(name) => match target.attribute(name) {
            None => None,
            Some(v) => Some(v.unwrap_or("")),
        },
        Subject::InstanceId => Some(target.instance_id()),
        Subject::AgentConnected => Some(if target.agent_connected() {
            "true"
        } else {
            "false"
        }),
        Subject::AgentVersion => target.agent_version(),
        Subject::RegisteredAt => {
            owned = target.registered_at().to_string();
            Some(owned.as_str())
        }
        Subject::RunningTasksCount => {
            owned = target.running_tasks_count().to_string();
            Some(owned.as_str())
        }
        Subject::TaskGroup => None,
    };
    let same = |a: &str, v: &str| {
        if t.subject == Subject::RegisteredAt {
            // Instants, not their spelling: `+00:00` and `Z` are the same.
            matches!((parse_instant(a), parse_instant(v)), (Some(x), Some(y)) if x == y)
        } else {
            a == v
        }
    };
    match (&t.op, value) {
        (Op::Exists, v) => v.is_some(),
        (Op::NotExists, v) => v.is_none(),
        // An absent subject equals nothing, is in no list and matches no pattern.
        (Op::Ne | Op::NotIn | Op::NotMatches, None) => true,
        (_, None) => false,
        (Op::Eq, Some(v)) => arg_value(&t.arg).is_some_and(|a| same(a, v)),
        (Op::Ne, Some(v)) => arg_value(&t.arg).is_none_or(|a| !same(a, v)),
        (Op::In, Some(v)) => arg_list(&t.arg).iter().any(|a| same(a, v)),
        (Op::NotIn, Some(v)) => !arg_list(&t.arg).iter().any(|a| same(a, v)),
        (Op::Matches, Some(v)) => matches!(&t.arg, Arg::Pattern(re) if re.is_match(v)),
        (Op::NotMatches, Some(v)) => !matches!(&t.arg, Arg::Pattern(re) if re.is_match(v)),
        (op @ (Op::Gt | Op::Ge | Op::Lt | Op::Le), Some(v)) => {
            let Some(a) = arg_value(&t.arg) else {
                return false;
            };
            let Some(ord) = compare(&t.subject, v, a) else {
                return false;
            };
            match op {
                Op::Gt => ord == Ordering::Greater,
                Op::Ge => ord != Ordering::Less,
                Op::Lt => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }
        }
    }
}

fn arg_value(arg: &Arg) -> Option<&str> {
    match arg {
        Arg::Value(v) => Some(v),
        _ => None,
    }
}

fn arg_list(arg: &Arg) -> &[String] {
    match arg {
        Arg::List(l) => l,
        _ => &[],
    }
}

/// Orders `value` against `arg`: dates for `registeredAt`; numbers when both are
/// numbers; dotted versions when both are versions (`1.14.5`); text otherwise.
fn compare(subject: &Subject, value: &str, arg: &str) -> Option<Ordering> {
    if *subject == Subject::RegisteredAt {
        return Some(parse_instant(value)?.cmp(&parse_instant(arg)?));
    }
    if *subject == Subject::AgentVersion {
        return Some(version(value)?.cmp(&version(arg)?));
    }
    if let (Ok(a), Ok(b)) = (value.parse::<f64>(), arg.parse::<f64>()) {
        return a.partial_cmp(&b);
    }
    if let (Some(a), Some(b)) = (version(value), version(arg)) {
        return Some(a.cmp(&b));
    }
    Some(value.cmp(arg))
}

fn version(s: &str) -> Option<Vec<u64>> {
    s.trim_start_matches('v')
        .split('.')
        .map(|p| p.parse().ok())
        .collect()
}

/// The date forms ECS documents: `2018-06-18T22:28:28+00:00`, `...Z`, `2018-06-18T22:28:28`,
/// `2018-06-18` (the last two read as UTC).
fn parse_instant(s: &str) -> Option<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    let utc = jiff::tz::TimeZone::UTC;
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return utc.to_timestamp(dt).ok();
    }
    let date = s.parse::<jiff::civil::Date>().ok()?;
    utc.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()
}
