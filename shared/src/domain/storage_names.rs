//! Validated newtypes for what a storage link names: its id, a bucket, a key prefix, a region, an AWS
//! account, an endpoint and an access key id. Each is checked before it reaches a role ARN or an S3 call.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::{InvalidValue, quoted, string_newtype};

fn validate_link_id(value: String) -> Result<String, InvalidValue> {
    if value.len() == 26 && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(InvalidValue(format!("{} is not a storage link id", quoted(&value))))
    }
}

string_newtype!(
    /// A storage link's id: a lowercase ULID, so it is unique, sortable and fits an IAM role name.
    LinkId,
    validate_link_id
);

impl LinkId {
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string().to_lowercase())
    }
}

fn validate_bucket(value: String) -> Result<String, InvalidValue> {
    let chars = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if (3..=63).contains(&value.len()) && chars && ends(value.bytes().next()) && ends(value.bytes().last()) {
        Ok(value)
    } else {
        Err(InvalidValue(format!(
            "{} is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots and dashes",
            quoted(&value)
        )))
    }
}

string_newtype!(
    /// An S3 bucket name.
    BucketName,
    validate_bucket
);

/// Normalises `/`, `/a/b`, `a/b/` to `""`, `a/b/`, `a/b/`: the key prefix objects go under.
fn validate_prefix(value: String) -> Result<String, InvalidValue> {
    let trimmed = value.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let segment_ok = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if trimmed.len() > 512 || !trimmed.split('/').all(segment_ok) {
        return Err(InvalidValue(format!(
            "path {} is not acceptable: use segments of letters, digits, `.`, `_` and `-` separated by `/`",
            quoted(&value)
        )));
    }
    Ok(format!("{trimmed}/"))
}

string_newtype!(
    /// The key prefix inside a bucket: empty (the whole bucket) or `segment/.../`.
    KeyPrefix,
    validate_prefix
);

#[allow(clippy::derivable_impls)] // the newtype macro owns the derives
impl Default for KeyPrefix {
    fn default() -> Self {
        Self(String::new())
    }
}

fn validate_region(value: String) -> Result<String, InvalidValue> {
    let parts: Vec<&str> = value.split('-').collect();
    let words_ok = parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    let number_ok = parts.last().is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if words_ok && number_ok && value.len() <= 32 {
        Ok(value)
    } else {
        Err(InvalidValue(format!("{} is not an AWS region such as us-east-1", quoted(&value))))
    }
}

string_newtype!(
    /// An AWS region name such as `eu-west-1`.
    AwsRegion,
    validate_region
);

impl AwsRegion {
    /// The partition the region belongs to, for ARNs.
    pub fn partition(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "aws-cn"
        } else if self.0.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// The host of the AWS console for this region.
    pub fn console_host(&self) -> String {
        match self.partition() {
            "aws-cn" => "console.amazonaws.cn".to_owned(),
            "aws-us-gov" => "console.amazonaws-us-gov.com".to_owned(),
            _ => format!("{}.console.aws.amazon.com", self.0),
        }
    }
}

fn validate_account(value: String) -> Result<String, InvalidValue> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(InvalidValue(format!("{} is not an AWS account id: 12 digits", quoted(&value))))
    }
}

string_newtype!(
    /// A 12-digit AWS account id.
    AccountId,
    validate_account
);

fn validate_endpoint(value: String) -> Result<String, InvalidValue> {
    match url::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() && url.query().is_none() => {
            Ok(value.trim_end_matches('/').to_owned())
        }
        _ => Err(InvalidValue(format!(
            "{} is not an http(s) endpoint URL such as https://s3.example.com",
            quoted(&value)
        ))),
    }
}

string_newtype!(
    /// The base URL of an S3-compatible service.
    EndpointUrl,
    validate_endpoint
);

fn validate_access_key(value: String) -> Result<String, InvalidValue> {
    if (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value)
    } else {
        Err(InvalidValue("an access key id is 1 to 128 printable characters without spaces".into()))
    }
}

string_newtype!(
    /// The access key id of static S3 credentials (not secret; its secret key is a [`super::secret::SecretText`]).
    AccessKeyId,
    validate_access_key
);

fn validate_signing_region(value: String) -> Result<String, InvalidValue> {
    let chars = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if (1..=64).contains(&value.len()) && chars {
        Ok(value)
    } else {
        Err(InvalidValue(format!("{} is not a signing region such as us-east-1 or auto", quoted(&value))))
    }
}

string_newtype!(
    /// The region an S3-compatible service expects in signatures (`us-east-1`, R2's `auto`, …).
    SigningRegion,
    validate_signing_region
);

/// `arn:<partition>:kms:<region>:<account>:key/<id>` or `...:alias/<name>`, as S3's bucket encryption names it.
fn validate_kms_key_arn(value: String) -> Result<String, InvalidValue> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let partition_ok = |p: &str| {
        p.strip_prefix("aws").is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
            && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    };
    let resource_ok = |r: &str| {
        let (kind, name) = r.split_once('/').unwrap_or_default();
        let name_ok = !name.is_empty() && name.len() <= 256;
        match kind {
            "key" => name_ok && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "alias" => name_ok && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b)),
            _ => false,
        }
    };
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && partition_ok(parts[1])
        && parts[2] == "kms"
        && validate_region(parts[3].to_owned()).is_ok()
        && validate_account(parts[4].to_owned()).is_ok()
        && resource_ok(parts[5]);
    if ok {
        Ok(value)
    } else {
        Err(InvalidValue(format!(
            "{} is not a KMS key ARN such as arn:aws:kms:us-east-1:111122223333:key/<key id> (or an alias ARN, \
             ...:alias/<name>)",
            quoted(&value)
        )))
    }
}

string_newtype!(
    /// The KMS key that encrypts a linked bucket (SSE-KMS): the link role needs GenerateDataKey and Decrypt on it.
    KmsKeyArn,
    validate_kms_key_arn
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_normalise_to_no_leading_and_one_trailing_slash() {
        assert_eq!(KeyPrefix::try_from("/").unwrap().as_str(), "");
        assert_eq!(KeyPrefix::try_from("/a/b").unwrap().as_str(), "a/b/");
        assert_eq!(KeyPrefix::try_from("a/b/").unwrap().as_str(), "a/b/");
        assert!(KeyPrefix::try_from("a/../b").is_err());
        assert!(KeyPrefix::try_from("a//b").is_err());
    }

    #[test]
    fn regions_know_their_partition_and_console() {
        assert_eq!(AwsRegion::try_from("cn-north-1").unwrap().partition(), "aws-cn");
        assert_eq!(AwsRegion::try_from("eu-west-1").unwrap().console_host(), "eu-west-1.console.aws.amazon.com");
        assert!(AwsRegion::try_from("narnia").is_err());
        assert!(BucketName::try_from("Bad_Bucket").is_err());
        assert!(AccountId::try_from("12345").is_err());
    }

    #[test]
    fn kms_key_arns_are_a_key_or_an_alias_in_a_region_and_account() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(KmsKeyArn::try_from(key).is_ok());
        assert!(KmsKeyArn::try_from("arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/packages").is_ok());
        assert!(KmsKeyArn::try_from("arn:aws:kms:eu-west-1:111122223333:key/").is_err());
        assert!(KmsKeyArn::try_from("arn:aws:s3:eu-west-1:111122223333:key/abc").is_err());
        assert!(KmsKeyArn::try_from("arn:aws:kms:eu-west-1:1111:key/abc").is_err());
        assert!(KmsKeyArn::try_from("1234abcd-12ab-34cd-56ef-1234567890ab").is_err());
        assert!(KmsKeyArn::try_from("arn:aws:kms:eu-west-1:111122223333:grant/abc").is_err());
    }
}
