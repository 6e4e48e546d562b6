//! Maven's order of versions, as its `ComparableVersion` has it (simplified: the qualifiers Maven knows,
//! numbers compared as numbers, missing parts as zero or the release).

use std::cmp::Ordering;

/// One token of a version, as Maven's `ComparableVersion` reads it.
#[derive(Debug, PartialEq, Eq)]
enum Item {
    Number(String),
    Qualifier(String),
}

fn items(version: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    let push = |current: &mut String, digits: bool, items: &mut Vec<Item>| {
        if !current.is_empty() {
            let text = std::mem::take(current);
            items.push(if digits {
                Item::Number(text.trim_start_matches('0').to_owned())
            } else {
                Item::Qualifier(text)
            });
        }
    };
    for c in version.to_ascii_lowercase().chars() {
        if c == '.' || c == '-' {
            push(&mut current, digits, &mut items);
        } else {
            if !current.is_empty() && c.is_ascii_digit() != digits {
                push(&mut current, digits, &mut items);
            }
            digits = c.is_ascii_digit();
            current.push(c);
        }
    }
    push(&mut current, digits, &mut items);
    items
}

/// Where a qualifier sorts: pre-releases before the release, known ones in Maven's order, others after.
fn qualifier_rank(qualifier: &str) -> (u8, &str) {
    match qualifier {
        "alpha" | "a" => (0, ""),
        "beta" | "b" => (1, ""),
        "milestone" | "m" => (2, ""),
        "rc" | "cr" => (3, ""),
        "snapshot" => (4, ""),
        "" | "ga" | "final" | "release" => (5, ""),
        "sp" => (6, ""),
        other => (7, other),
    }
}

fn compare_items(a: Option<&Item>, b: Option<&Item>) -> Ordering {
    let number = |n: &str| (n.len(), n.to_owned());
    match (a, b) {
        (Some(Item::Number(x)), Some(Item::Number(y))) => number(x).cmp(&number(y)),
        (Some(Item::Number(x)), None) => number(x).cmp(&number("")),
        (None, Some(Item::Number(y))) => number("").cmp(&number(y)),
        (Some(Item::Number(_)), Some(Item::Qualifier(_))) => Ordering::Greater,
        (Some(Item::Qualifier(_)), Some(Item::Number(_))) => Ordering::Less,
        (Some(Item::Qualifier(x)), Some(Item::Qualifier(y))) => qualifier_rank(x).cmp(&qualifier_rank(y)),
        (Some(Item::Qualifier(x)), None) => qualifier_rank(x).cmp(&qualifier_rank("")),
        (None, Some(Item::Qualifier(y))) => qualifier_rank("").cmp(&qualifier_rank(y)),
        (None, None) => Ordering::Equal,
    }
}

/// Maven's order of versions: `1.0-alpha < 1.0-rc1 < 1.0-SNAPSHOT < 1.0 < 1.0.1 < 1.10`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a, b) = (items(a), items(b));
    (0..a.len().max(b.len()))
        .map(|i| compare_items(a.get(i), b.get(i)))
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_in_maven_order() {
        let mut versions =
            vec!["1.10", "1.0", "1.0-SNAPSHOT", "1.0-rc1", "1.0-alpha-2", "1.0.1", "1.2-beta", "1.0-sp1"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(versions, ["1.0-alpha-2", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1", "1.2-beta", "1.10"]);
        assert_eq!(compare_versions("1.0", "1"), Ordering::Equal);
    }
}
