//! The upload API twine (and `uv publish`, `poetry publish`) speaks: `POST legacy/` with a multipart form of
//! `:action=file_upload`, the project's core metadata and the file in `content`. The file's name must stand
//! for the project and version it is uploaded as, and its bytes for the `sha256_digest` the client declares.
//! Also yanking (PEP 592): `POST yank/{project}/{version}` with an optional reason, `DELETE` to undo.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{PypiError, PypiResult, Request, bad};
use crate::api::error::ApiError;
use crate::api::spool::{Spooled, spool};
use crate::domain::error::Error;
use crate::ecosystems::python::dist::check_distribution_in;
use crate::ecosystems::python::{check_filename, normalize_version, validate_name};
use crate::service::publish::ReceivedFile;

fn invalid(message: impl Into<String>) -> PypiError {
    bad(StatusCode::BAD_REQUEST, "invalid_upload", message)
}

/// The fields of an upload form (a field may repeat, like `classifiers`) and its one file, spooled.
struct Form {
    fields: HashMap<String, Vec<String>>,
    content: Option<(String, Spooled)>,
}

impl Form {
    fn one(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(|values| values.first()).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> PypiResult<&str> {
        self.one(name).ok_or_else(|| invalid(format!("the upload form has no `{name}` field")))
    }
}

/// The most text the form's other fields may hold together (a long description included).
const FIELDS_LIMIT: usize = 4 * 1024 * 1024;

/// Reads the form as it streams: the `content` file goes to a spool, counted against the body limit; the
/// other fields are text, bounded together by [`FIELDS_LIMIT`].
async fn read_form(request: &Request<'_>, parts: &Parts, body: Body) -> PypiResult<Form> {
    let limit = request.state.config.max_body_bytes as u64;
    // The request's own parts carry the deployment's body limit for the form reader.
    let form_request = axum::http::Request::from_parts(parts.clone(), body);
    let mut multipart = Multipart::from_request(form_request, &())
        .await
        .map_err(|e| invalid(format!("send the upload as multipart/form-data: {}", e.body_text())))?;
    let mut form = Form { fields: HashMap::new(), content: None };
    let malformed = |e: axum::extract::multipart::MultipartError| {
        invalid(format!("the upload form is malformed: {}", e.body_text()))
    };
    let mut text_left = FIELDS_LIMIT;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "content" {
            let filename = field.file_name().unwrap_or_default().to_owned();
            form.content =
                Some((filename, spool(field, limit, &request.state.config.spool_dir).await.map_err(ApiError::from)?));
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                text_left = text_left.checked_sub(chunk.len()).ok_or_else(|| {
                    bad(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the form's text fields are too long")
                })?;
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value).map_err(|_| invalid(format!("the field `{name}` is not UTF-8")))?;
            form.fields.entry(name).or_default().push(value);
        }
    }
    Ok(form)
}

/// `POST legacy/`: adds one file to a release, creating the release with its first file.
pub async fn upload(request: &Request<'_>, parts: &Parts, body: Body) -> PypiResult {
    let form = read_form(request, parts, body).await?;
    match form.one(":action") {
        Some("file_upload") => {}
        other => return Err(invalid(format!("unsupported :action {other:?}; this index only accepts file_upload"))),
    }
    let name = validate_name(form.required("name")?).map_err(|e| invalid(e.0))?;
    let version = normalize_version(form.required("version")?).map_err(|e| invalid(e.0))?;
    let (filename, spooled) = form.content.as_ref().ok_or_else(|| invalid("the upload form has no `content` file"))?;
    check_filename(filename, &name, &version).map_err(|e| invalid(e.0))?;
    let declared = form
        .required("sha256_digest")
        .map_err(|_| invalid("send the file's SHA-256 as `sha256_digest`; twine does"))?;
    if !declared.eq_ignore_ascii_case(&spooled.digests.sha256) {
        return Err(invalid(format!(
            "the uploaded file's SHA-256 is {}, but the form declares {declared}; the upload was damaged, retry",
            spooled.digests.sha256
        )));
    }
    let acting = request
        .caller
        .as_ref()
        .map(super::Caller::acting)
        .ok_or_else(|| PypiError::from(Error::Unauthenticated("uploading needs a token".into())))?;
    // Unpacked only now that the caller may upload here and the bytes arrived as sent.
    let (checked_filename, checked_name, checked_version) = (filename.clone(), name.clone(), version.clone());
    spooled
        .read_with(move |input| {
            check_distribution_in(&checked_filename, input, &checked_name, &checked_version)
                .map_err(|e| ApiError::bad_request("invalid_upload", e.0))
        })
        .await?;
    let received = ReceivedFile {
        filename: filename.clone(),
        path: spooled.path().to_owned(),
        size: spooled.size,
        digests: spooled.digests.clone(),
    };
    let display_name = form.required("name")?.to_owned();
    let summary = form.one("summary").map(str::to_owned);
    let requires_python = form.one("requires_python").map(str::to_owned);
    let file_info = json!({"requires_python": requires_python, "uploaded_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()});
    let update = |metadata: &mut Value| {
        if !metadata.is_object() {
            *metadata = json!({"display_name": display_name, "summary": summary, "files": {}});
        }
        metadata["files"][filename.as_str()] = file_info.clone();
    };
    let packages = &request.state.packages;
    match packages.add_received_file(&acting, &request.registry, (&name, &version), &received, update).await {
        Ok(_) => {
            tracing::info!(registry.slug = %request.registry.slug, package.name = %name, "uploaded {filename} to {name} {version}");
            Ok((StatusCode::OK, "OK\n").into_response())
        }
        Err(Error::Conflict(message)) if message.starts_with("File already exists") => Err(file_exists(filename)),
        Err(error) => Err(error.into()),
    }
}

fn file_exists(filename: &str) -> PypiError {
    bad(
        StatusCode::CONFLICT,
        "file_exists",
        format!(
            "File already exists: {filename} was uploaded before; file names cannot be reused, upload a new version"
        ),
    )
}

/// `POST yank/{project}/{version}` (an optional `{"reason": "..."}` body) yanks a release; `DELETE` un-yanks it.
pub async fn yank(request: &Request<'_>, yank: bool, project: &str, version: &str, body: &[u8]) -> PypiResult {
    let name = validate_name(project).map_err(|e| invalid(e.0))?;
    let version = normalize_version(version).map_err(|e| invalid(e.0))?;
    let reason = match body {
        [] => String::new(),
        body => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => fields.get("reason").and_then(Value::as_str).unwrap_or_default().to_owned(),
            _ => return Err(invalid("send the reason as JSON, {\"reason\": \"...\"}, or no body")),
        },
    };
    // The reason is stored and shown to every installer: the same bounds as any description.
    let reason = crate::domain::names::Description::try_from(reason)
        .map_err(|e| invalid(e.0.replacen("description", "the yank reason", 1)))?
        .to_string();
    let acting = request
        .caller
        .as_ref()
        .map(super::Caller::acting)
        .ok_or_else(|| PypiError::from(Error::Unauthenticated("yanking needs a token".into())))?;
    let reason = yank.then_some(reason);
    request.state.packages.set_yanked(&acting, &request.registry, &name, &version, reason.as_deref()).await?;
    Ok(Json(json!({"name": name, "version": version, "yanked": yank, "reason": reason})).into_response())
}
