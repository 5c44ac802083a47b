//! Creating what the gateway runs on, for `mail2sms-admin bootstrap` and the tests: the tables
//! from [`crate::tables`] (the template declares the same), and, against a local emulator,
//! the inbound bucket, the reply identity and the schedule group that the SAM template
//! creates in AWS.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use super::port_error;
use crate::ports::PortError;
use crate::tables::TableSpec;

fn key_schema(partition_key: &str, sort_key: Option<&str>) -> Vec<KeySchemaElement> {
    let element = |name: &str, key_type| {
        KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().expect("name and type are set")
    };
    let mut schema = vec![element(partition_key, KeyType::Hash)];
    schema.extend(sort_key.map(|name| element(name, KeyType::Range)));
    schema
}

/// Creates the table `name` shaped as `spec`; false if it was already there.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, spec: &TableSpec, name: &str) -> Result<bool, PortError> {
    let attributes = spec.key_attributes().into_iter().map(|attribute| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    });
    let indexes = spec.indexes.iter().map(|index| {
        GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .expect("name and keys are set")
    });
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes.collect()))
        .set_key_schema(Some(key_schema(spec.partition_key, spec.sort_key)))
        .set_global_secondary_indexes(Some(indexes.collect()).filter(|v: &Vec<_>| !v.is_empty()))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(false),
        Err(error) => return Err(port_error("dynamodb", error)),
    }
    if let Some(attribute) = spec.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().enabled(true).attribute_name(attribute).build().expect("set"),
            )
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
    }
    Ok(true)
}

/// Creates the bucket; false if it was already there.
pub async fn create_bucket(sdk: &aws_config::SdkConfig, bucket: &str) -> Result<bool, PortError> {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let mut create = client.create_bucket().bucket(bucket);
    if let Some(region) = sdk.region().map(|r| r.as_ref().to_owned()).filter(|r| r != "us-east-1") {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) =>
        {
            Ok(false)
        }
        Err(error) => Err(port_error("s3", error)),
    }
}

/// Creates the SES identity of the reply address's domain; false if it was already there.
pub async fn create_reply_identity(sdk: &aws_config::SdkConfig, reply_from: &str) -> Result<bool, PortError> {
    let domain = reply_from.rsplit_once('@').map_or(reply_from, |(_, domain)| domain);
    let created = aws_sdk_sesv2::Client::new(sdk).create_email_identity().email_identity(domain).send().await;
    match created {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(false),
        Err(error) => Err(port_error("sesv2", error)),
    }
}

/// Creates the schedule group; false if it was already there (the `default` group always is).
pub async fn create_schedule_group(sdk: &aws_config::SdkConfig, group: &str) -> Result<bool, PortError> {
    if group == "default" {
        return Ok(false);
    }
    let created = aws_sdk_scheduler::Client::new(sdk).create_schedule_group().name(group).send().await;
    match created {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_conflict_exception()) => Ok(false),
        Err(error) => Err(port_error("scheduler", error)),
    }
}

/// The visibility timeout of the parts queue, as the template sets it (six times the
/// function's timeout).
pub const PARTS_VISIBILITY_SECONDS: u32 = 360;

/// Creates the parts queue (again: SQS answers with the same URL) and returns its URL.
pub async fn create_parts_queue(sdk: &aws_config::SdkConfig, name: &str) -> Result<String, PortError> {
    let created = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, PARTS_VISIBILITY_SECONDS.to_string())
        .send()
        .await
        .map_err(|e| port_error("sqs", e))?;
    created.queue_url.ok_or_else(|| PortError::Refused { service: "sqs", message: "no queue URL in the answer".into() })
}
