//! A recorder of the AWS calls Packyard's SDK clients make: service, operation and resource, attributed to
//! the function serving the request, so tests can hold every call against that function's IAM policy.

use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeSerializationInterceptorContextRef, Input};
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Whose credentials sign a call, and so whose policy must allow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signer {
    /// The function's own role (DynamoDB, the hosted bucket, STS).
    Function,
    /// A storage link's assumed role (the customer's bucket).
    LinkRole,
}

/// One request as IAM sees it. A `TransactWriteItems` is recorded once per item (`TransactWriteItems:Put`,
/// `:Delete`, `:ConditionCheck`, `:Update`), since IAM authorizes each item on its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AwsCall {
    /// The function serving the request, as named in `template.yaml`'s stems (`packages`, `storage-links`).
    pub function: String,
    pub signer: Signer,
    /// The SDK's service name: `DynamoDB`, `S3`, `STS`.
    pub service: String,
    /// The SDK's operation name, e.g. `HeadObject` (presigned URLs count: they are signed with the same role).
    pub operation: String,
    /// The table name, `bucket/key`, or role ARN; `*` when the operation is not one the recorder knows.
    pub resource: String,
    /// For a DynamoDB `GetItem` or `Query`: whether it read strongly consistent (a full read unit per 4 KB)
    /// rather than eventually (half); `false` for every other call.
    pub consistent: bool,
}

#[derive(Debug, Default)]
struct Log {
    serving: String,
    calls: Vec<AwsCall>,
}

/// The recorder; cheap to clone, all clones share one log. Clients record into it through [`AwsCalls::interceptor`].
#[derive(Clone, Debug, Default)]
pub struct AwsCalls {
    log: Arc<Mutex<Log>>,
}

impl AwsCalls {
    /// Attributes the calls from now on to `function` (the stem of a SAM function, like a route group's name).
    pub fn serving(&self, function: &str) {
        function.clone_into(&mut self.lock().serving);
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<AwsCall> {
        self.lock().calls.clone()
    }

    /// The interceptor to attach to a client whose calls are signed by `signer`.
    pub fn interceptor(&self, signer: Signer) -> Recording {
        Recording { calls: self.clone(), signer }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, signer: Signer, service: &str, (operation, resource): (String, String), consistent: bool) {
        let mut log = self.lock();
        let function = log.serving.clone();
        log.calls.push(AwsCall { function, signer, service: service.to_owned(), operation, resource, consistent });
    }
}

/// The SDK interceptor writing into an [`AwsCalls`].
#[derive(Debug)]
pub struct Recording {
    calls: AwsCalls,
    signer: Signer,
}

/// `bucket/key` for the S3 inputs Packyard sends; `None` for any other input.
macro_rules! object_of {
    ($input:expr, $($module:ident :: $ty:ident),+ $(,)?) => {{
        let input = $input;
        None
        $(.or_else(|| {
            input.downcast_ref::<aws_sdk_s3::operation::$module::$ty>()
                .map(|i| format!("{}/{}", i.bucket().unwrap_or_default(), i.key().unwrap_or_default()))
        }))+
    }};
}

/// What IAM authorizes for one input: `(operation, resource)` pairs.
fn requests(service: &str, operation: &str, input: &Input) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation::{
        get_item::GetItemInput, query::QueryInput, transact_write_items::TransactWriteItemsInput,
    };
    let one = |resource: Option<String>| vec![(operation.to_owned(), resource.unwrap_or_else(|| "*".into()))];
    match service {
        "DynamoDB" => {
            if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
                return transaction
                    .transact_items()
                    .iter()
                    .map(|item| {
                        let (kind, table) = if let Some(put) = item.put() {
                            ("Put", put.table_name())
                        } else if let Some(delete) = item.delete() {
                            ("Delete", delete.table_name())
                        } else if let Some(check) = item.condition_check() {
                            ("ConditionCheck", check.table_name())
                        } else if let Some(update) = item.update() {
                            ("Update", update.table_name())
                        } else {
                            ("Unknown", "*")
                        };
                        (format!("{operation}:{kind}"), table.to_owned())
                    })
                    .collect();
            }
            let table = input
                .downcast_ref::<GetItemInput>()
                .and_then(GetItemInput::table_name)
                .or_else(|| input.downcast_ref::<QueryInput>().and_then(QueryInput::table_name));
            one(table.map(str::to_owned))
        }
        "S3" if input.downcast_ref::<aws_sdk_s3::operation::copy_object::CopyObjectInput>().is_some() => {
            // A copy writes its destination and reads its source (`bucket/key`, percent-encoded).
            let copy = input.downcast_ref::<aws_sdk_s3::operation::copy_object::CopyObjectInput>();
            let destination =
                copy.map(|i| format!("{}/{}", i.bucket().unwrap_or_default(), i.key().unwrap_or_default()));
            let source = copy.and_then(|i| i.copy_source()).unwrap_or("*").to_owned();
            vec![
                (operation.to_owned(), destination.unwrap_or_else(|| "*".into())),
                (format!("{operation}:Source"), source),
            ]
        }
        "S3" => one(object_of!(
            input,
            get_object::GetObjectInput,
            head_object::HeadObjectInput,
            put_object::PutObjectInput,
            delete_object::DeleteObjectInput,
            put_object_tagging::PutObjectTaggingInput,
            create_multipart_upload::CreateMultipartUploadInput,
            upload_part::UploadPartInput,
            complete_multipart_upload::CompleteMultipartUploadInput,
            abort_multipart_upload::AbortMultipartUploadInput,
        )),
        "STS" => one(input
            .downcast_ref::<aws_sdk_sts::operation::assume_role::AssumeRoleInput>()
            .and_then(|i| i.role_arn().map(str::to_owned))),
        _ => one(None),
    }
}

impl Intercept for Recording {
    fn name(&self) -> &'static str {
        "PackyardAwsCallRecorder"
    }

    // Before serialization: once per operation (not per retry), presigned requests included, with the
    // operation's metadata already in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::{get_item::GetItemInput, query::QueryInput};
        let Some(metadata) = cfg.load::<Metadata>() else { return Ok(()) };
        let input = context.input();
        let consistent = input.downcast_ref::<GetItemInput>().and_then(GetItemInput::consistent_read).unwrap_or(false)
            || input.downcast_ref::<QueryInput>().and_then(QueryInput::consistent_read).unwrap_or(false);
        for request in requests(metadata.service(), metadata.name(), input) {
            self.calls.record(self.signer, metadata.service(), request, consistent);
        }
        Ok(())
    }
}
