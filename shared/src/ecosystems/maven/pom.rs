//! The check of a deployed pom: it must name the coordinates it is deployed under.

use super::{Coordinates, invalid};
use crate::domain::names::InvalidValue;

/// The most of a pom that is read: poms are small, and only their coordinates are wanted.
pub const POM_LIMIT: u64 = 4 * 1024 * 1024;

/// Checks that a deployed pom names the coordinates it is deployed under: its `artifactId`, and its
/// `groupId` and `version` (or its parent's, which it inherits). A value that is a property (`${revision}`)
/// is left to the build that resolves it.
///
/// # Errors
/// When the pom is not XML, has no `<project>` or `artifactId`, or names other coordinates.
pub fn check_pom(text: &str, coordinates: &Coordinates) -> Result<(), InvalidValue> {
    use xmlparser::{ElementEnd, Token, Tokenizer};
    let mut stack: Vec<&str> = Vec::new();
    let (mut own, mut parent) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    for token in Tokenizer::from(text) {
        match token.map_err(|e| invalid(format!("the pom is not well-formed XML: {e}")))? {
            Token::ElementStart { local, .. } if stack.len() < 64 => stack.push(local.as_str()),
            Token::ElementStart { .. } => return Err(invalid("the pom nests deeper than 64 elements".into())),
            Token::ElementEnd { end: ElementEnd::Empty, .. } => {
                stack.pop();
            }
            // A tokenizer does not match tags; this does, so a truncated or garbled pom is refused.
            Token::ElementEnd { end: ElementEnd::Close(_, local), .. } if stack.pop() != Some(local.as_str()) => {
                return Err(invalid(format!("the pom is not well-formed XML: </{local}> closes no open element")));
            }
            Token::Text { text } => match stack.as_slice() {
                ["project", field] => {
                    own.insert(*field, text.as_str().trim());
                }
                ["project", "parent", field] => {
                    parent.insert(*field, text.as_str().trim());
                }
                _ => {}
            },
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(invalid(format!("the pom is not well-formed XML: <{}> is never closed", stack.join("><"))));
    }
    let field = |name: &str| own.get(name).or_else(|| parent.get(name)).copied().filter(|v| !v.contains("${"));
    let Some(artifact_id) = own.get("artifactId") else {
        return Err(invalid("the pom has no <project> with an <artifactId>".into()));
    };
    let expected = [
        ("artifactId", Some(*artifact_id), coordinates.artifact_id.as_str()),
        ("groupId", field("groupId"), coordinates.group_id.as_str()),
        ("version", field("version"), coordinates.version.as_str()),
    ];
    for (name, found, wanted) in expected {
        if let Some(found) = found.filter(|found| found != &wanted) {
            return Err(invalid(format!(
                "the pom's {name} is {found:?} but it is deployed as {wanted:?}: {}:{}:{} must match the path",
                coordinates.group_id, coordinates.artifact_id, coordinates.version
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystems::maven::tests::file;

    #[test]
    fn a_pom_must_name_the_coordinates_it_is_deployed_under() {
        let jar = file("com/acme/greet/1.0-SNAPSHOT/greet-1.0-20261129.120000-1.pom");
        let own = "<project><groupId>com.acme</groupId><artifactId>greet</artifactId><version>1.0-SNAPSHOT</version></project>";
        assert!(check_pom(own, &jar).is_ok());
        let inherited = "<?xml version=\"1.0\"?><project xmlns=\"http://maven.apache.org/POM/4.0.0\"><parent><groupId>com.acme</groupId>\
            <artifactId>parent</artifactId><version>1.0-SNAPSHOT</version></parent><artifactId>greet</artifactId>\
            <dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId><version>2</version></dependency></dependencies></project>";
        assert!(check_pom(inherited, &jar).is_ok());
        assert!(check_pom(&own.replace("1.0-SNAPSHOT", "${revision}"), &jar).is_ok());
        for (bad, says) in [
            (own.replace(">greet<", ">other<"), "artifactId"),
            (own.replace("com.acme", "org.acme"), "groupId"),
            (own.replace("1.0-SNAPSHOT", "1.0"), "version"),
            ("<project/>".to_owned(), "artifactId"),
            ("<project><artifactId>greet</project>".to_owned(), "XML"),
        ] {
            let error = check_pom(&bad, &jar).unwrap_err();
            assert!(error.0.contains(says), "{bad}: {error}");
        }
    }
}
