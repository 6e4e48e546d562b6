//! What is particular to OCI images (the Distribution Spec v1.1): the request paths, the names, tags and
//! digests they carry, the manifests a client pushes (what they reference, their subject), and the spec's
//! error codes.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The media types a manifest may be pushed with.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MANIFEST_TYPES: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// The most blobs and manifests one manifest may reference: each is checked when it is pushed (Docker images
/// stop at 127 layers; an index of a thousand platforms is far past any real one).
pub const MAX_REFERENCES: usize = 1000;

/// The largest manifest accepted, as most registries do.
pub const MANIFEST_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The error codes of the Distribution Spec, each with the status it is usually answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::Unsupported => "UNSUPPORTED",
            Self::TooManyRequests => "TOO_MANY_REQUESTS",
        }
    }

    /// The HTTP status this code is answered with unless the situation says otherwise.
    pub fn status(self) -> u16 {
        match self {
            Self::BlobUnknown | Self::BlobUploadUnknown | Self::ManifestUnknown | Self::NameUnknown => 404,
            Self::Unauthorized => 401,
            Self::Denied => 403,
            Self::Unsupported => 405,
            Self::TooManyRequests => 429,
            _ => 400,
        }
    }
}

/// A request the protocol refuses, with its code and, when it differs from the code's, its status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: Code,
    pub message: String,
    pub status: u16,
}

impl Refusal {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), status: code.status() }
    }

    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// A `sha256:<64 hex>` content digest; the only algorithm accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hex(&hex::encode(Sha256::digest(bytes)))
    }

    /// The digest whose lowercase hex SHA-256 is `hex` (as a hasher produced it).
    pub fn from_hex(hex: &str) -> Self {
        Self(format!("sha256:{hex}"))
    }

    /// Parses a digest a client sent.
    ///
    /// # Errors
    /// `DIGEST_INVALID` for anything but `sha256:` and 64 lowercase hex digits.
    pub fn parse(value: &str) -> Result<Self, Refusal> {
        let hex = value.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(value.to_owned()))
        } else {
            Err(Refusal::new(Code::DigestInvalid, format!("{value:?} is not a sha256:<64 lowercase hex> digest")))
        }
    }

    /// The hex part, safe as a storage key segment and a sort key.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest URL names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    /// # Errors
    /// `DIGEST_INVALID` for a malformed digest, `MANIFEST_INVALID` for a malformed tag.
    pub fn parse(value: &str) -> Result<Self, Refusal> {
        if value.contains(':') {
            return Digest::parse(value).map(Self::Digest);
        }
        let valid = value.len() <= 128
            && value.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if valid {
            Ok(Self::Tag(value.to_owned()))
        } else {
            Err(Refusal::new(Code::ManifestInvalid, format!("{value:?} is not a valid tag")))
        }
    }
}

/// An image of a registry as the REST packages API names it, in one URL path segment: the repository with
/// `/` written as `~` (which repository names never hold), then `:tag` or `@sha256:<hex>`, as in
/// `team~app:v1` or `team~app@sha256:…`. A `/` is read as `/` too, for clients that percent-encode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub reference: Reference,
}

impl ImageRef {
    pub fn id(&self) -> String {
        let repository = self.repository.replace('/', "~");
        match &self.reference {
            Reference::Tag(tag) => format!("{repository}:{tag}"),
            Reference::Digest(digest) => format!("{repository}@{digest}"),
        }
    }

    /// Reads an id [`Self::id`] wrote; `None` for anything else.
    pub fn parse_id(id: &str) -> Option<Self> {
        let (repository, reference) = match id.split_once('@') {
            Some((repository, digest)) => (repository, Reference::Digest(Digest::parse(digest).ok()?)),
            None => {
                let (repository, tag) = id.split_once(':')?;
                match Reference::parse(tag).ok()? {
                    tag @ Reference::Tag(_) => (repository, tag),
                    Reference::Digest(_) => return None,
                }
            }
        };
        let repository = repository.replace('~', "/");
        check_repository(&repository).ok()?;
        Some(Self { repository, reference })
    }
}

/// Checks a repository name inside a registry (`team/app`): lowercase components joined by `/`, each
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, so it can never hold `#` (the store's separator) or climb a path.
///
/// # Errors
/// `NAME_INVALID`.
pub fn check_repository(name: &str) -> Result<(), Refusal> {
    let component_ok = |component: &str| {
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return false;
        }
        component
            .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            .filter(|run| !run.is_empty())
            .all(|separator| matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-'))
    };
    if name.len() <= 200 && name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(Refusal::new(Code::NameInvalid, format!("repository name {name:?} is not valid")))
    }
}

/// What a path under `/v2/` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint<'a> {
    Manifest(&'a str),
    Blob(&'a str),
    UploadStart,
    Upload(&'a str),
    TagsList,
    Referrers(&'a str),
}

/// A path under `/v2/` split into `org/registry/repository` and the endpoint its last segments name.
#[derive(Debug, PartialEq, Eq)]
pub struct Route<'a> {
    pub org: &'a str,
    pub registry: &'a str,
    pub repository: String,
    pub endpoint: Endpoint<'a>,
}

/// The organization, registry and repository of a full repository name (`acme/images/team/app`), as a
/// token scope or a mount's `from=` names it; `None` with fewer than three segments.
pub fn split_name(name: &str) -> Option<(&str, &str, &str)> {
    let mut segments = name.splitn(3, '/');
    Some((segments.next()?, segments.next()?, segments.next()?))
}

/// Parses `acme/images/team/app/manifests/latest` and the like; `None` when no endpoint matches or the name
/// has fewer than three segments (organization, registry, at least one of the repository).
pub fn parse_path(path: &str) -> Option<Route<'_>> {
    let segments: Vec<&str> = path.split('/').collect();
    let n = segments.len();
    let at = |from_end: usize| if from_end <= n { segments[n - from_end] } else { "" };
    let (endpoint, name_len) = if at(2) == "tags" && at(1) == "list" {
        (Endpoint::TagsList, n - 2)
    } else if at(3) == "blobs" && at(2) == "uploads" {
        (if at(1).is_empty() { Endpoint::UploadStart } else { Endpoint::Upload(at(1)) }, n - 3)
    } else if at(2) == "blobs" && at(1) == "uploads" {
        (Endpoint::UploadStart, n - 2)
    } else if at(2) == "manifests" && !at(1).is_empty() {
        (Endpoint::Manifest(at(1)), n - 2)
    } else if at(2) == "blobs" && !at(1).is_empty() {
        (Endpoint::Blob(at(1)), n - 2)
    } else if at(2) == "referrers" && !at(1).is_empty() {
        (Endpoint::Referrers(at(1)), n - 2)
    } else {
        return None;
    };
    if name_len < 3 {
        return None;
    }
    Some(Route { org: segments[0], registry: segments[1], repository: segments[2..name_len].join("/"), endpoint })
}

/// What a pushed manifest says about itself and what it needs to exist.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedManifest {
    pub media_type: String,
    /// Config and layers: blobs that must be in the registry.
    pub blobs: Vec<Digest>,
    /// An index's manifests: manifests that must be in the repository.
    pub manifests: Vec<Digest>,
    pub subject: Option<Digest>,
    /// The artifact type the referrers API reports: `artifactType`, else the config's media type.
    pub artifact_type: Option<String>,
    pub annotations: Option<Value>,
    /// An image manifest's config, whose blob names the image's platform.
    pub config: Option<Config>,
    /// The platforms an index's manifests declare, each once, in order.
    pub platforms: Vec<Platform>,
}

/// An image manifest's config descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub digest: Digest,
    pub media_type: String,
}

/// The config media types that hold an image's `os` and `architecture`.
pub const IMAGE_CONFIG_TYPES: [&str; 2] =
    ["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];

/// Where an image runs: an index descriptor's `platform`, or the `os`, `architecture` and `variant` of an
/// image config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform an object with `os` and `architecture` (and maybe `variant`) names, if it does.
    pub fn of(value: &Value) -> Option<Self> {
        let text = |field: &str| value[field].as_str().filter(|text| !text.is_empty()).map(str::to_owned);
        Some(Self { os: text("os")?, architecture: text("architecture")?, variant: text("variant") })
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(Code::ManifestInvalid, message)
}

/// Reads a manifest pushed with `content_type` (parameters ignored; the document's own `mediaType` when
/// the header is missing).
///
/// # Errors
/// `MANIFEST_INVALID` for a body that is not a manifest of a supported type, `DIGEST_INVALID` for a
/// malformed descriptor digest.
pub fn parse_manifest(content_type: Option<&str>, bytes: &[u8]) -> Result<ParsedManifest, Refusal> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|error| invalid(format!("the manifest is not JSON: {error}")))?;
    if !document.is_object() {
        return Err(invalid("the manifest is not a JSON object"));
    }
    let declared = document["mediaType"].as_str();
    let header = content_type.map(|value| value.split(';').next().unwrap_or_default().trim());
    let media_type = match (header, declared) {
        (Some(header), Some(declared)) if header != declared => {
            return Err(invalid(format!("Content-Type {header} differs from the manifest's mediaType {declared}")));
        }
        (Some(header), _) if !header.is_empty() && header != "application/json" => header,
        (_, Some(declared)) => declared,
        _ => return Err(invalid("send the manifest's media type as its Content-Type")),
    };
    if !MANIFEST_TYPES.contains(&media_type) {
        return Err(invalid(format!("manifests of type {media_type} are not supported")));
    }
    if document["schemaVersion"] != 2 {
        return Err(invalid("schemaVersion must be 2"));
    }
    let digest_of = |descriptor: &Value, what: &str| match descriptor["digest"].as_str() {
        Some(digest) => Digest::parse(digest),
        None => Err(invalid(format!("{what} has no digest"))),
    };
    let list = |field: &str| document[field].as_array().cloned().unwrap_or_default();
    let (mut blobs, mut manifests, mut platforms, mut config) = (Vec::new(), Vec::new(), Vec::new(), None);
    let index = media_type == OCI_INDEX || media_type == DOCKER_LIST;
    if index {
        for descriptor in document["manifests"].as_array().ok_or_else(|| invalid("an index needs manifests"))? {
            manifests.push(digest_of(descriptor, "a manifest of the index")?);
            if let Some(platform) = Platform::of(&descriptor["platform"]).filter(|p| !platforms.contains(p)) {
                platforms.push(platform);
            }
        }
    } else {
        let descriptor = &document["config"];
        if !descriptor.is_object() {
            return Err(invalid("an image manifest needs a config descriptor"));
        }
        let digest = digest_of(descriptor, "the config")?;
        blobs.push(digest.clone());
        config = Some(Config { digest, media_type: descriptor["mediaType"].as_str().unwrap_or_default().to_owned() });
        for layer in list("layers") {
            blobs.push(digest_of(&layer, "a layer")?);
        }
    }
    let subject = match &document["subject"] {
        Value::Null => None,
        subject => Some(digest_of(subject, "the subject")?),
    };
    let artifact_type = document["artifactType"]
        .as_str()
        .or_else(|| if index { None } else { document["config"]["mediaType"].as_str() })
        .map(str::to_owned);
    if blobs.len() + manifests.len() > MAX_REFERENCES {
        return Err(invalid(format!(
            "the manifest references {} blobs and manifests; at most {MAX_REFERENCES} are accepted",
            blobs.len() + manifests.len()
        )));
    }
    let annotations = document.get("annotations").filter(|value| value.is_object()).cloned();
    Ok(ParsedManifest {
        media_type: media_type.to_owned(),
        blobs,
        manifests,
        subject,
        artifact_type,
        annotations,
        config,
        platforms,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn paths_split_at_their_last_endpoint_segments() {
        let route = parse_path("acme/images/team/app/manifests/latest").unwrap();
        assert_eq!((route.org, route.registry, route.repository.as_str()), ("acme", "images", "team/app"));
        assert_eq!(route.endpoint, Endpoint::Manifest("latest"));
        assert_eq!(parse_path("a/b/c/blobs/uploads/").unwrap().endpoint, Endpoint::UploadStart);
        assert_eq!(parse_path("a/b/c/blobs/uploads/xyz").unwrap().endpoint, Endpoint::Upload("xyz"));
        assert_eq!(parse_path(&format!("a/b/blobs/c/blobs/{D}")).unwrap().repository, "blobs/c");
        assert_eq!(parse_path("a/b/c/d/tags/list").unwrap().endpoint, Endpoint::TagsList);
        assert_eq!(parse_path(&format!("a/b/c/referrers/{D}")).unwrap().endpoint, Endpoint::Referrers(D));
        assert_eq!(parse_path("a/b/manifests/latest"), None);
        assert_eq!(parse_path("a/b/c/other"), None);
    }

    #[test]
    fn names_tags_and_digests_are_checked() {
        assert!(check_repository("team/app").is_ok());
        assert!(check_repository("my-app__x.y/z").is_ok());
        for bad in ["Team", "a//b", "-a", "a#b", "a..b", "a/"] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
        assert_eq!(Reference::parse("v1.0").unwrap(), Reference::Tag("v1.0".into()));
        assert!(matches!(Reference::parse(D).unwrap(), Reference::Digest(_)));
        assert_eq!(Reference::parse("sha256:abc").unwrap_err().code, Code::DigestInvalid);
        assert_eq!(Reference::parse(".x").unwrap_err().code, Code::ManifestInvalid);
        assert_eq!(Digest::of(b"").as_str(), D);
    }

    #[test]
    fn image_ids_round_trip_and_refuse_anything_else() {
        for id in ["team~app:v1", &format!("team~app@{D}"), "app:latest"] {
            assert_eq!(ImageRef::parse_id(id).unwrap().id(), id);
        }
        assert_eq!(ImageRef::parse_id("team~app:v1").unwrap().repository, "team/app");
        // A client that percent-encodes the slash (`team%2Fapp:v1`) reaches the same image.
        assert_eq!(ImageRef::parse_id("team/app:v1").unwrap().id(), "team~app:v1");
        for bad in ["app", "app:", "app@sha256:abc", "App:v1", "~app:v1", "01J00000000000000000000000"] {
            assert_eq!(ImageRef::parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn platforms_come_from_an_index_and_a_config_from_a_manifest() {
        let platform = |arch: &str| json!({"os": "linux", "architecture": arch});
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"digest": D, "size": 1, "platform": platform("amd64")}, {"digest": D, "size": 1, "platform": platform("amd64")},
            {"digest": D, "size": 1, "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}}, {"digest": D, "size": 1}]});
        let parsed = parse_manifest(Some(OCI_INDEX), index.to_string().as_bytes()).unwrap();
        let shown: Vec<_> =
            parsed.platforms.iter().map(|p| format!("{}/{}/{:?}", p.os, p.architecture, p.variant)).collect();
        assert_eq!(shown, ["linux/amd64/None", "linux/arm/Some(\"v7\")"]);
        assert_eq!(parsed.config, None);
        let image = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": IMAGE_CONFIG_TYPES[0], "digest": D, "size": 0}, "layers": []});
        let config = parse_manifest(None, image.to_string().as_bytes()).unwrap().config.unwrap();
        assert_eq!((config.digest.as_str(), config.media_type.as_str()), (D, IMAGE_CONFIG_TYPES[0]));
    }

    #[test]
    fn a_manifest_names_its_blobs_subject_and_artifact_type() {
        let body = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/x.sbom", "digest": D, "size": 0},
            "layers": [{"mediaType": "x", "digest": D, "size": 0}], "subject": {"digest": D, "size": 1}});
        let parsed = parse_manifest(Some(OCI_MANIFEST), body.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.blobs.len(), 2);
        assert_eq!(parsed.subject.unwrap().as_str(), D);
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/x.sbom"));
        assert_eq!(
            parse_manifest(Some(OCI_INDEX), body.to_string().as_bytes()).unwrap_err().code,
            Code::ManifestInvalid
        );
        assert!(parse_manifest(None, b"[]").is_err());
    }
}
