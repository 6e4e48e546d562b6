//! The DynamoDB metadata store: one table, `pk`/`sk` keys, conditions as condition expressions and every
//! write a `TransactWriteItems`, so a change and its audit event land together or not at all.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem,
};
use serde_json::{Map, Number, Value};

use crate::ports::metadata::{
    Condition, Item, MAX_QUERY_LIMIT, MetadataStore, Page, Query, StoreError, WriteOp, validate_write,
};

/// [`MetadataStore`] on one DynamoDB table keyed by `pk` (hash) and `sk` (range).
#[derive(Clone, Debug)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table the way `template.yaml` declares it, for DynamoDB Local and tests.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when DynamoDB refuses, for instance because the table exists.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let attribute = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk").map_err(StoreError::backend)?)
            .attribute_definitions(attribute("sk").map_err(StoreError::backend)?)
            .key_schema(key("pk", KeyType::Hash).map_err(StoreError::backend)?)
            .key_schema(key("sk", KeyType::Range).map_err(StoreError::backend)?)
            .send()
            .await
            .map_err(|error| StoreError::backend(error.into_service_error()))?;
        Ok(())
    }

    async fn get_item(&self, pk: &str, sk: &str, consistent: bool) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|error| StoreError::backend(error.into_service_error()))?;
        output.item.map(read_item).transpose()
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }
}

/// A JSON value as a DynamoDB attribute (numbers keep their exact text).
fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Number(number) => AttributeValue::N(number.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(values) => AttributeValue::L(values.iter().map(to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attribute(v))).collect()),
    }
}

/// A DynamoDB attribute as JSON, moved rather than copied: an index page holds megabytes of text.
fn from_attribute(attribute: AttributeValue) -> Result<Value, String> {
    Ok(match attribute {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(flag) => Value::Bool(flag),
        AttributeValue::N(text) => text
            .parse::<i64>()
            .map(Number::from)
            .or_else(|_| text.parse::<u64>().map(Number::from))
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
            .map(Value::Number)
            .ok_or_else(|| format!("number {text} does not fit JSON"))?,
        AttributeValue::S(text) => Value::String(text),
        AttributeValue::L(values) => Value::Array(values.into_iter().map(from_attribute).collect::<Result<_, _>>()?),
        AttributeValue::M(map) => Value::Object(
            map.into_iter().map(|(k, v)| Ok((k, from_attribute(v)?))).collect::<Result<Map<_, _>, String>>()?,
        ),
        other => return Err(format!("unsupported attribute type {other:?}")),
    })
}

fn read_item(mut raw: HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let mut take_string = |name: &str| match raw.remove(name) {
        Some(AttributeValue::S(text)) => Ok(text),
        _ => Err(StoreError::Corrupt(format!("item without string attribute `{name}`"))),
    };
    let (pk, sk) = (take_string("pk")?, take_string("sk")?);
    let version = match raw.remove("v") {
        Some(AttributeValue::N(text)) => {
            text.parse().map_err(|_| StoreError::Corrupt(format!("{pk}/{sk}: bad version")))?
        }
        _ => return Err(StoreError::Corrupt(format!("{pk}/{sk}: no version"))),
    };
    let attributes = raw
        .into_iter()
        .map(|(name, value)| Ok((name, from_attribute(value)?)))
        .collect::<Result<Map<_, _>, String>>()
        .map_err(|error| StoreError::Corrupt(format!("{pk}/{sk}: {error}")))?;
    Ok(Item { pk, sk, version, attributes })
}

/// The condition expression and its values, or none for [`Condition::Always`].
fn condition_expression(condition: Condition) -> Option<(&'static str, Option<AttributeValue>)> {
    match condition {
        Condition::Always => None,
        Condition::NotExists => Some(("attribute_not_exists(pk)", None)),
        Condition::Exists => Some(("attribute_exists(pk)", None)),
        Condition::Version(version) => Some(("v = :expected_version", Some(AttributeValue::N(version.to_string())))),
    }
}

fn transact_item(table: &str, op: WriteOp) -> Result<TransactWriteItem, StoreError> {
    let built = |error: aws_sdk_dynamodb::error::BuildError| StoreError::backend(error);
    let values = |value: Option<AttributeValue>| value.map(|v| HashMap::from([(":expected_version".to_owned(), v)]));
    Ok(match op {
        WriteOp::Put { item, condition } => {
            let mut attributes: HashMap<_, _> =
                item.attributes.iter().map(|(name, value)| (name.clone(), to_attribute(value))).collect();
            attributes.extend(DynamoDbStore::key(&item.pk, &item.sk));
            attributes.insert("v".to_owned(), AttributeValue::N(item.version.to_string()));
            let mut put = Put::builder().table_name(table).set_item(Some(attributes));
            if let Some((expression, value)) = condition_expression(condition) {
                put = put.condition_expression(expression).set_expression_attribute_values(values(value));
            }
            TransactWriteItem::builder().put(put.build().map_err(built)?).build()
        }
        WriteOp::Delete { pk, sk, condition } => {
            let mut delete = Delete::builder().table_name(table).set_key(Some(DynamoDbStore::key(&pk, &sk)));
            if let Some((expression, value)) = condition_expression(condition) {
                delete = delete.condition_expression(expression).set_expression_attribute_values(values(value));
            }
            TransactWriteItem::builder().delete(delete.build().map_err(built)?).build()
        }
        WriteOp::Check { pk, sk, condition } => {
            // DynamoDB requires an expression on a check; `Always` checks a tautology on the key.
            let (expression, value) =
                condition_expression(condition).unwrap_or(("attribute_exists(pk) OR attribute_not_exists(pk)", None));
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(DynamoDbStore::key(&pk, &sk)))
                .condition_expression(expression)
                .set_expression_attribute_values(values(value))
                .build()
                .map_err(built)?;
            TransactWriteItem::builder().condition_check(check).build()
        }
    })
}

fn transaction_error(error: SdkError<TransactWriteItemsError>) -> StoreError {
    match error.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            let reasons = cancelled.cancellation_reasons();
            if let Some(op) = reasons.iter().position(|reason| reason.code() == Some("ConditionalCheckFailed")) {
                StoreError::ConditionFailed { op }
            } else if reasons.iter().any(|reason| reason.code() == Some("TransactionConflict")) {
                StoreError::Contention
            } else {
                StoreError::backend(cancelled)
            }
        }
        TransactWriteItemsError::TransactionInProgressException(_) => StoreError::Contention,
        other => StoreError::backend(other),
    }
}

#[async_trait]
impl MetadataStore for DynamoDbStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(pk, sk, true).await
    }

    async fn get_eventually(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(pk, sk, false).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, MAX_QUERY_LIMIT);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .scan_index_forward(!query.descending)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .expression_attribute_values(":pk", AttributeValue::S(query.pk.clone()));
        // DynamoDB refuses an empty string in `begins_with`, so an empty prefix means the whole partition.
        request = if query.sk_prefix.is_empty() {
            request.key_condition_expression("pk = :pk")
        } else {
            request
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(query.sk_prefix.clone()))
        };
        if let Some(after) = &query.after {
            request = request.set_exclusive_start_key(Some(Self::key(&query.pk, after)));
        }
        let output = request.send().await.map_err(|error| StoreError::backend(error.into_service_error()))?;
        let mut items = output.items.unwrap_or_default().into_iter().map(read_item).collect::<Result<Vec<_>, _>>()?;
        // More remains when DynamoDB returned the extra item, or stopped early at its 1 MB page size.
        let more = items.len() > limit || output.last_evaluated_key.is_some();
        items.truncate(limit);
        Ok(Page { items, more })
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_write(&ops)?;
        let items = ops.into_iter().map(|op| transact_item(&self.table, op)).collect::<Result<Vec<_>, _>>()?;
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(transaction_error)?;
        Ok(())
    }
}
