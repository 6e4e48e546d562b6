//! The `maven-metadata.xml` documents Packyard renders from what it stores: an artifact's (its versions)
//! and a SNAPSHOT version's (its builds).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Build, Coordinates, FileName, SNAPSHOT, compare_versions, is_snapshot};

/// Maven's `lastUpdated` form, `yyyyMMddHHmmss` in UTC.
pub fn last_updated(time: DateTime<Utc>) -> String {
    time.format("%Y%m%d%H%M%S").to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An artifact's `maven-metadata.xml`: every version in Maven's order, the highest as `latest`, the highest
/// release as `release`.
pub fn artifact_metadata(group_id: &str, artifact_id: &str, versions: &[String], updated: DateTime<Utc>) -> String {
    let mut sorted: Vec<&String> = versions.iter().collect();
    sorted.sort_by(|a, b| compare_versions(a, b));
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <versioning>\n",
        escape(group_id),
        escape(artifact_id)
    );
    if let Some(latest) = sorted.last() {
        xml.push_str(&format!("    <latest>{}</latest>\n", escape(latest)));
    }
    if let Some(release) = sorted.iter().rev().find(|v| !is_snapshot(v)) {
        xml.push_str(&format!("    <release>{}</release>\n", escape(release)));
    }
    xml.push_str("    <versions>\n");
    for version in &sorted {
        xml.push_str(&format!("      <version>{}</version>\n", escape(version)));
    }
    xml.push_str(&format!(
        "    </versions>\n    <lastUpdated>{}</lastUpdated>\n  </versioning>\n</metadata>\n",
        last_updated(updated)
    ));
    xml
}

/// The newest build among a SNAPSHOT version's files, and for each classifier and extension the newest
/// file's build: what its `maven-metadata.xml` lists.
pub fn snapshot_builds(files: &[FileName]) -> (Option<Build>, Vec<&FileName>) {
    let mut newest: Vec<&FileName> = Vec::new();
    for file in files.iter().filter(|file| file.build.is_some()) {
        match newest.iter_mut().find(|kept| kept.classifier == file.classifier && kept.extension == file.extension) {
            Some(kept) if kept.build < file.build => *kept = file,
            Some(_) => {}
            None => newest.push(file),
        }
    }
    let build = newest.iter().filter_map(|file| file.build.clone()).max();
    (build, newest)
}

/// A SNAPSHOT version's `maven-metadata.xml` (model 1.1.0): its newest build and, per classifier and
/// extension, the newest file's value, as Maven resolves `-SNAPSHOT` to a timestamped file.
pub fn snapshot_metadata(coordinates: &Coordinates, files: &[FileName], updated: DateTime<Utc>) -> String {
    let base = coordinates.version.strip_suffix(SNAPSHOT).unwrap_or(&coordinates.version);
    let (build, newest) = snapshot_builds(files);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata modelVersion=\"1.1.0\">\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <version>{}</version>\n  <versioning>\n",
        escape(&coordinates.group_id),
        escape(&coordinates.artifact_id),
        escape(&coordinates.version)
    );
    if let Some(build) = &build {
        xml.push_str(&format!(
            "    <snapshot>\n      <timestamp>{}</timestamp>\n      <buildNumber>{}</buildNumber>\n    </snapshot>\n",
            build.timestamp, build.number
        ));
    }
    xml.push_str(&format!("    <lastUpdated>{}</lastUpdated>\n    <snapshotVersions>\n", last_updated(updated)));
    for file in newest {
        let Some(file_build) = &file.build else { continue };
        xml.push_str("      <snapshotVersion>\n");
        if let Some(classifier) = &file.classifier {
            xml.push_str(&format!("        <classifier>{}</classifier>\n", escape(classifier)));
        }
        let updated = NaiveDateTime::parse_from_str(&file_build.timestamp, "%Y%m%d.%H%M%S")
            .map_or_else(|_| file_build.timestamp.replace('.', ""), |t| t.format("%Y%m%d%H%M%S").to_string());
        xml.push_str(&format!(
            "        <extension>{}</extension>\n        <value>{}</value>\n        <updated>{updated}</updated>\n      </snapshotVersion>\n",
            escape(&file.extension),
            escape(&file_build.value(base))
        ));
    }
    xml.push_str("    </snapshotVersions>\n  </versioning>\n</metadata>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystems::maven::file_name;
    use crate::ecosystems::maven::tests::file;

    #[test]
    fn metadata_names_latest_release_and_the_newest_snapshot_build() {
        let time = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().with_timezone(&Utc);
        let xml = artifact_metadata("com.acme", "greet", &["2.0-SNAPSHOT".into(), "1.0".into(), "1.1".into()], time);
        assert!(xml.contains("<latest>2.0-SNAPSHOT</latest>") && xml.contains("<release>1.1</release>"), "{xml}");
        assert!(xml.contains("<version>1.0</version>\n      <version>1.1</version>"), "{xml}");
        assert!(xml.contains("<lastUpdated>20261129120000</lastUpdated>"), "{xml}");
        let coordinates = file("com/acme/greet/1.0-SNAPSHOT/greet-1.0-20261129.110000-1.jar");
        let files: Vec<FileName> = [
            "greet-1.0-20261129.110000-1.jar",
            "greet-1.0-20261129.120000-2.jar",
            "greet-1.0-20261129.120000-2.pom",
            "greet-1.0-20261129.110000-1-sources.jar",
        ]
        .iter()
        .map(|name| file_name(&Coordinates { filename: (*name).into(), ..coordinates.clone() }).unwrap())
        .collect();
        let xml = snapshot_metadata(&coordinates, &files, time);
        assert!(xml.contains("<timestamp>20261129.120000</timestamp>\n      <buildNumber>2</buildNumber>"), "{xml}");
        assert!(xml.contains("<extension>jar</extension>\n        <value>1.0-20261129.120000-2</value>"), "{xml}");
        assert!(xml.contains("<classifier>sources</classifier>"), "{xml}");
        assert!(
            xml.contains("<value>1.0-20261129.110000-1</value>\n        <updated>20261129110000</updated>"),
            "{xml}"
        );
    }
}
