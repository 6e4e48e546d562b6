//! Copying (promoting) an image from one `oci` registry to another of the organization, server-side: every
//! blob it references goes storage to storage (the store copies it itself when both registries use the same
//! storage, else it streams through a buffer at a time), blobs the destination has are skipped, and the
//! manifests are pushed there as a client would push them, children first, so the destination's own rules
//! for a push (which tags may move) decide.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde_json::json;

use super::listing::Image;
use super::{ManifestRecord, Oci, OciResult, refuse};
use crate::domain::audit::{Target, diff};
use crate::domain::error::Error;
use crate::domain::registry::Registry;
use crate::ecosystems::oci::{Code, Digest, ImageRef, ParsedManifest, Reference, parse_manifest};
use crate::service::Acting;

/// How deep indexes may nest in a copy; an index of images is one level, nesting is rare beyond two.
const MAX_DEPTH: usize = 4;

impl Oci {
    /// Copies an image into `destination` under the same repository and tag (or digest), audited as
    /// `oci.manifest_copied` beside the pushes it makes there.
    ///
    /// # Errors
    /// `MANIFEST_UNKNOWN` when the source has no such image, what pushing to the destination refuses, and
    /// what the stores fail with.
    pub async fn copy(
        &self,
        acting: &Acting,
        source: &Registry,
        destination: &Registry,
        image: &ImageRef,
    ) -> OciResult<Image> {
        let repository = image.repository.as_str();
        let Some(root) = self.manifest(source, repository, &image.reference).await? else {
            return refuse(Code::ManifestUnknown, format!("{repository} has no image {}", image.id()));
        };
        // Breadth first from the image, then pushed deepest level first: a manifest exists before any index
        // that names it, as the destination requires.
        let mut levels = vec![vec![self.read_manifest(source, root).await?]];
        while let Some(level) = levels.last() {
            let mut next = Vec::new();
            for (_, _, parsed) in level {
                for child in &parsed.manifests {
                    if let Some(child) = self.manifest(source, repository, &Reference::Digest(child.clone())).await? {
                        next.push(self.read_manifest(source, child).await?);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            if levels.len() == MAX_DEPTH {
                return refuse(Code::ManifestInvalid, format!("indexes nest deeper than {MAX_DEPTH} levels"));
            }
            levels.push(next);
        }
        let mut pushed = BTreeSet::new();
        let mut copied = None;
        for (depth, level) in levels.into_iter().enumerate().rev() {
            for (manifest, bytes, parsed) in level {
                if !pushed.insert((depth == 0, manifest.digest.clone())) {
                    continue;
                }
                for blob in &parsed.blobs {
                    self.give_blob(source, destination, blob).await?;
                }
                // The image's own tag moves in the destination exactly as a push would move it: where the
                // destination's tags are immutable, put_manifest refuses a tag that points elsewhere.
                let reference = match depth {
                    0 => image.reference.clone(),
                    _ => Reference::Digest(Digest::parse(&manifest.digest)?),
                };
                copied = Some(self.put_manifest(acting, destination, repository, &reference, parsed, bytes).await?);
            }
        }
        let copied = copied.ok_or_else(|| Error::NotFound(format!("{repository} has no image {}", image.id())))?;
        let from = format!("{}/{}", source.slug, image.id());
        let after = json!({"source": from, "digest": copied.digest});
        let target = Target { kind: "oci_manifest".into(), id: image.id(), name: image.id() };
        let event = acting.audit(
            &destination.organization,
            "oci.manifest_copied",
            target,
            diff(&json!({}), &after, &["source", "digest"]),
        )?;
        self.store.write(vec![event]).await?;
        tracing::info!(registry.slug = %destination.slug, oci.repository = %repository, "copied {from} to {}", destination.slug);
        let tag = match &image.reference {
            Reference::Tag(tag) => Some(tag.clone()),
            Reference::Digest(_) => None,
        };
        Ok(Image { repository: repository.to_owned(), tag, manifest: copied })
    }

    /// A manifest's record with its bytes and what they say.
    async fn read_manifest(
        &self,
        registry: &Registry,
        manifest: ManifestRecord,
    ) -> OciResult<(ManifestRecord, Bytes, ParsedManifest)> {
        let bytes = self.manifest_bytes(registry, &manifest).await?;
        let parsed = parse_manifest(Some(&manifest.media_type), &bytes)?;
        Ok((manifest, bytes, parsed))
    }

    /// Gives the destination the source's blob, unless it has it (see [`Self::copy_blob`]).
    async fn give_blob(&self, source: &Registry, destination: &Registry, digest: &Digest) -> OciResult<()> {
        let Some(blob) = self.blob(source, digest).await? else {
            return refuse(Code::BlobUnknown, format!("blob {digest} is not in registry {}", source.slug));
        };
        self.copy_blob(source, &blob, destination).await?;
        Ok(())
    }
}
