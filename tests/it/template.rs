//! `template.yaml` agrees with the code: the function is given exactly the environment variables
//! the code reads and exactly the IAM actions it calls, the tables are the ones `tables::ALL`
//! defines, the receipt rule scans, requires TLS and stores the raw email before invoking the
//! function, and the inbound bucket is private.
//!
//! Each check is a function returning what is wrong, so that `each_check_catches_a_broken_template`
//! can prove it fails on a template broken on purpose.

use std::collections::BTreeSet;

use mail2sms::aws::FUNCTION_IAM_ACTIONS;
use mail2sms::config::{DEFAULT_INBOUND_PREFIX, vars};
use mail2sms::tables::{self, TableSpec};
use serde_json::{Map, Value, json};

const FUNCTION: &str = "Mail2SmsFunction";

/// A check of the template: what is wrong with it, if anything.
type Check = fn(&Value) -> Result<(), String>;

/// The template as CloudFormation's JSON form: short tags (`!Ref x`, `!Sub s`, `!GetAtt a.b`, ...)
/// become the long forms (`{"Ref": x}`, `{"Fn::Sub": s}`, `{"Fn::GetAtt": [a, b]}`).
fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let text = std::fs::read_to_string(path).expect("read template.yaml");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("template.yaml is YAML");
    to_json(yaml)
}

fn to_json(yaml: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).expect("a YAML number is a JSON number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(key, value)| {
                    let key = key.as_str().expect("template keys are strings").to_owned();
                    (key, to_json(value))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let mut value = to_json(tagged.value);
            let key = match name {
                "Ref" | "Condition" => name.to_owned(),
                "GetAtt" => {
                    if let Value::String(dotted) = &value {
                        let (resource, attribute) = dotted.split_once('.').expect("!GetAtt Resource.Attribute");
                        value = json!([resource, attribute]);
                    }
                    "Fn::GetAtt".to_owned()
                }
                _ => format!("Fn::{name}"),
            };
            json!({ key: value })
        }
    }
}

fn resources(template: &Value) -> Result<&Map<String, Value>, String> {
    template["Resources"].as_object().ok_or_else(|| "the template has no Resources".to_owned())
}

fn resource<'t>(template: &'t Value, logical_id: &str) -> Result<&'t Value, String> {
    resources(template)?.get(logical_id).ok_or_else(|| format!("the template has no resource {logical_id}"))
}

/// The logical ids of the resources of one type.
fn of_type<'t>(template: &'t Value, kind: &str) -> Result<Vec<(&'t String, &'t Value)>, String> {
    Ok(resources(template)?.iter().filter(|(_, r)| r["Type"] == kind).collect())
}

fn the_one_of_type<'t>(template: &'t Value, kind: &str) -> Result<(&'t String, &'t Value), String> {
    match of_type(template, kind)?.as_slice() {
        [one] => Ok(*one),
        many => Err(format!("expected exactly one {kind}, found {}", many.len())),
    }
}

fn ensure(condition: bool, problem: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(problem()) }
}

fn function_environment(template: &Value) -> Result<&Map<String, Value>, String> {
    resource(template, FUNCTION)?["Properties"]["Environment"]["Variables"]
        .as_object()
        .ok_or_else(|| format!("{FUNCTION} has no Environment.Variables"))
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// The function sets every variable the code reads, and no other.
fn check_environment(template: &Value) -> Result<(), String> {
    let set: BTreeSet<&str> = function_environment(template)?.keys().map(String::as_str).collect();
    let read: BTreeSet<&str> = vars::ALL.into_iter().collect();
    ensure(read.len() == vars::ALL.len(), || "config::vars::ALL names a variable twice".into())?;
    let missing: Vec<_> = read.difference(&set).collect();
    let extra: Vec<_> = set.difference(&read).collect();
    ensure(missing.is_empty() && extra.is_empty(), || {
        format!("{FUNCTION}'s environment: missing {missing:?}, not read by the code {extra:?}")
    })
}

/// The function is the Rust bootstrap, built by the Makefile, with JSON logs.
fn check_function(template: &Value) -> Result<(), String> {
    let function = resource(template, FUNCTION)?;
    ensure(function["Type"] == "AWS::Serverless::Function", || format!("{FUNCTION} is not a function"))?;
    ensure(function["Metadata"]["BuildMethod"] == "makefile", || "the function is not built by the Makefile".into())?;
    let properties = &function["Properties"];
    ensure(properties["Runtime"] == "provided.al2023", || "the runtime is not provided.al2023".into())?;
    ensure(properties["Handler"] == "bootstrap", || "the handler is not bootstrap".into())?;
    ensure(properties["LoggingConfig"]["LogFormat"] == "JSON", || "the function's logs are not JSON".into())?;
    let on_failure = &properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    ensure(on_failure["Type"] == "SQS", || "asynchronous failures do not go to an SQS dead-letter queue".into())
}

/// Every statement the function's own policies hold, both branches of an `Fn::If` included.
fn function_statements(template: &Value) -> Result<Vec<&Value>, String> {
    let policies = resource(template, FUNCTION)?["Properties"]["Policies"]
        .as_array()
        .ok_or_else(|| format!("{FUNCTION} has no Policies list"))?;
    let mut statements = Vec::new();
    for policy in policies {
        // A managed policy or a SAM policy template would grant actions this test cannot see.
        let document = policy
            .get("Statement")
            .ok_or_else(|| format!("{FUNCTION} has a policy that is not an inline document: {policy}"))?;
        collect_statements(document, &mut statements);
    }
    Ok(statements)
}

fn collect_statements<'t>(value: &'t Value, out: &mut Vec<&'t Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_statements(item, out)),
        Value::Object(object) if object.contains_key("Fn::If") => {
            if let Some([_, then, otherwise]) = object["Fn::If"].as_array().map(Vec::as_slice) {
                collect_statements(then, out);
                collect_statements(otherwise, out);
            }
        }
        Value::Object(object) if object.get("Ref") == Some(&json!("AWS::NoValue")) => {}
        other => out.push(other),
    }
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The function is granted every action the code calls and no other; only `sns:Publish`
/// (a phone number has no ARN) is granted on "*".
fn check_function_policy(template: &Value) -> Result<(), String> {
    let mut granted = BTreeSet::new();
    for statement in function_statements(template)? {
        ensure(statement["Effect"] == "Allow", || format!("unexpected statement {statement}"))?;
        ensure(statement.get("NotAction").is_none() && statement.get("NotResource").is_none(), || {
            format!("NotAction/NotResource grants too much: {statement}")
        })?;
        let actions = strings(&statement["Action"]);
        ensure(!actions.is_empty(), || format!("a statement without actions: {statement}"))?;
        if strings(&statement["Resource"]).contains(&"*") {
            ensure(actions == ["sns:Publish"], || format!("only sns:Publish may be granted on \"*\": {statement}"))?;
        }
        granted.extend(actions);
    }
    let called: BTreeSet<&str> = FUNCTION_IAM_ACTIONS.iter().copied().collect();
    let missing: Vec<_> = called.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&called).collect();
    ensure(missing.is_empty() && extra.is_empty(), || {
        format!("{FUNCTION}'s policy: missing {missing:?}, not called by the code {extra:?}")
    })
}

fn key_schema(partition_key: &str, sort_key: Option<&str>) -> Value {
    let mut keys = vec![json!({ "AttributeName": partition_key, "KeyType": "HASH" })];
    keys.extend(sort_key.map(|sort| json!({ "AttributeName": sort, "KeyType": "RANGE" })));
    Value::Array(keys)
}

fn check_table(template: &Value, spec: &TableSpec) -> Result<(), String> {
    let id = spec.logical_id;
    let table = resource(template, id)?;
    ensure(table["Type"] == "AWS::DynamoDB::Table", || format!("{id} is not a DynamoDB table"))?;
    let properties = &table["Properties"];
    ensure(properties["BillingMode"] == "PAY_PER_REQUEST", || format!("{id} is not on-demand"))?;
    ensure(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] == true, || {
        format!("{id} has no point-in-time recovery")
    })?;
    ensure(properties["KeySchema"] == key_schema(spec.partition_key, spec.sort_key), || {
        format!("{id}'s key schema {} differs from tables.rs", properties["KeySchema"])
    })?;

    let definitions: Vec<Value> =
        spec.key_attributes().into_iter().map(|name| json!({ "AttributeName": name, "AttributeType": "S" })).collect();
    let declared = properties["AttributeDefinitions"].as_array().cloned().unwrap_or_default();
    let same_set = declared.len() == definitions.len() && definitions.iter().all(|d| declared.contains(d));
    ensure(same_set, || {
        format!(
            "{id}'s attribute definitions {} differ from tables.rs {}",
            Value::from(declared.clone()),
            Value::from(definitions.clone())
        )
    })?;

    let indexes: Value = spec
        .indexes
        .iter()
        .map(|index| {
            json!({
                "IndexName": index.name,
                "KeySchema": key_schema(index.partition_key, index.sort_key),
                "Projection": { "ProjectionType": "ALL" },
            })
        })
        .collect();
    let declared = properties.get("GlobalSecondaryIndexes").cloned().unwrap_or(json!([]));
    ensure(declared == indexes, || format!("{id}'s indexes {declared} differ from tables.rs {indexes}"))?;

    let ttl = properties.get("TimeToLiveSpecification");
    match spec.ttl_attribute {
        Some(attribute) => ensure(ttl == Some(&json!({ "AttributeName": attribute, "Enabled": true })), || {
            format!("{id}'s time to live is {ttl:?}, not {attribute}")
        })?,
        None => ensure(ttl.is_none(), || format!("{id} has a time to live tables.rs does not"))?,
    }

    let variable = function_environment(template)?.get(spec.env_var);
    ensure(variable == Some(&json!({ "Ref": id })), || format!("{} is {variable:?}, not the table {id}", spec.env_var))
}

/// The template declares exactly the tables of `tables::ALL`.
fn check_tables(template: &Value) -> Result<(), String> {
    for spec in &tables::ALL {
        check_table(template, spec)?;
    }
    let declared: BTreeSet<&str> =
        of_type(template, "AWS::DynamoDB::Table")?.into_iter().map(|(id, _)| id.as_str()).collect();
    let defined: BTreeSet<&str> = tables::ALL.iter().map(|spec| spec.logical_id).collect();
    ensure(declared == defined, || format!("the template's tables {declared:?} are not tables.rs's {defined:?}"))
}

/// The receipt rule scans, requires TLS, and stores the raw email under the prefix the function
/// reads before it invokes the function.
fn check_receipt_rule(template: &Value) -> Result<(), String> {
    let (id, rule) = the_one_of_type(template, "AWS::SES::ReceiptRule")?;
    let body = &rule["Properties"]["Rule"];
    ensure(body["ScanEnabled"] == true, || format!("{id} does not scan for spam and viruses"))?;
    ensure(body["TlsPolicy"] == "Require", || format!("{id} does not require TLS"))?;
    ensure(body["Enabled"] == true, || format!("{id} is not enabled"))?;
    ensure(body["Recipients"] == json!([{ "Ref": "GatewayAddress" }]), || {
        format!("{id}'s recipient is not the gateway address")
    })?;

    let actions = body["Actions"].as_array().ok_or_else(|| format!("{id} has no actions"))?;
    let position = |kind: &str| actions.iter().position(|action| action.get(kind).is_some());
    let (Some(s3), Some(lambda)) = (position("S3Action"), position("LambdaAction")) else {
        return Err(format!("{id} needs an S3 action and a Lambda action"));
    };
    ensure(s3 < lambda, || format!("{id} invokes the function before storing the email"))?;
    let s3_action = &actions[s3]["S3Action"];
    let lambda_action = &actions[lambda]["LambdaAction"];
    ensure(s3_action["ObjectKeyPrefix"] == DEFAULT_INBOUND_PREFIX, || {
        format!("{id} stores emails under {}, not {DEFAULT_INBOUND_PREFIX}", s3_action["ObjectKeyPrefix"])
    })?;
    let prefix = &function_environment(template)?[vars::INBOUND_PREFIX];
    ensure(*prefix == s3_action["ObjectKeyPrefix"], || {
        format!("the function reads {prefix}, SES writes {}", s3_action["ObjectKeyPrefix"])
    })?;
    ensure(lambda_action["FunctionArn"] == json!({ "Fn::GetAtt": [FUNCTION, "Arn"] }), || {
        format!("{id} does not invoke {FUNCTION}")
    })?;
    ensure(lambda_action["InvocationType"] == "Event", || format!("{id} does not invoke asynchronously"))?;

    let depends_on = strings(&rule["DependsOn"]);
    let (policy_id, _) = the_one_of_type(template, "AWS::S3::BucketPolicy")?;
    let (permission_id, _) = the_one_of_type(template, "AWS::Lambda::Permission")?;
    ensure(depends_on.contains(&policy_id.as_str()) && depends_on.contains(&permission_id.as_str()), || {
        format!("{id} must depend on {policy_id} and {permission_id} (SES checks access when the rule is created)")
    })
}

/// The bucket SES writes to blocks all public access, is encrypted, and lets SES write only
/// under the inbound prefix for our account and rule.
fn check_inbound_bucket(template: &Value) -> Result<(), String> {
    let (_, rule) = the_one_of_type(template, "AWS::SES::ReceiptRule")?;
    let s3_action = rule["Properties"]["Rule"]["Actions"]
        .as_array()
        .and_then(|actions| actions.iter().find_map(|action| action.get("S3Action")))
        .ok_or("the receipt rule has no S3 action")?;
    let bucket_id = s3_action["BucketName"]["Ref"]
        .as_str()
        .ok_or("the S3 action's bucket is not a Ref to the template's bucket")?;
    let bucket = resource(template, bucket_id)?;
    let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        ensure(block[setting] == true, || format!("{bucket_id} does not set {setting}"))?;
    }
    ensure(bucket["Properties"].get("BucketEncryption").is_some(), || format!("{bucket_id} is not encrypted"))?;

    let (policy_id, policy) = the_one_of_type(template, "AWS::S3::BucketPolicy")?;
    ensure(policy["Properties"]["Bucket"] == json!({ "Ref": bucket_id }), || {
        format!("{policy_id} is not {bucket_id}'s")
    })?;
    let statements =
        policy["Properties"]["PolicyDocument"]["Statement"].as_array().ok_or("the bucket policy has no statements")?;
    let ses = statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "ses.amazonaws.com")
        .ok_or("the bucket policy does not let SES write")?;
    ensure(ses["Effect"] == "Allow" && strings(&ses["Action"]) == ["s3:PutObject"], || {
        format!("SES may do more than put objects: {ses}")
    })?;
    let resource = json!({ "Fn::Sub": format!("${{{bucket_id}.Arn}}/{DEFAULT_INBOUND_PREFIX}*") });
    ensure(ses["Resource"] == resource, || {
        format!("SES may write outside {DEFAULT_INBOUND_PREFIX}: {}", ses["Resource"])
    })?;
    let condition = &ses["Condition"];
    ensure(condition["StringEquals"]["aws:SourceAccount"] == json!({ "Ref": "AWS::AccountId" }), || {
        "SES's write is not limited to our account".into()
    })?;
    ensure(
        !condition["ArnLike"]["aws:SourceArn"].is_null() || !condition["ArnEquals"]["aws:SourceArn"].is_null(),
        || "SES's write is not limited to our receipt rule".into(),
    )?;
    let tls_only =
        statements.iter().any(|s| s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false");
    ensure(tls_only, || "the bucket policy does not deny requests without TLS".into())
}

const CHECKS: [(&str, Check); 7] = [
    ("environment", check_environment),
    ("function", check_function),
    ("function policy", check_function_policy),
    ("tables", check_tables),
    ("receipt rule", check_receipt_rule),
    ("inbound bucket", check_inbound_bucket),
    ("the one function", |t| the_one_of_type(t, "AWS::Serverless::Function").map(drop)),
];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn function_environment_is_exactly_what_the_code_reads() {
    check_environment(&template()).unwrap();
}

#[test]
fn function_is_the_rust_bootstrap_with_json_logs() {
    check_function(&template()).unwrap();
}

#[test]
fn function_policy_grants_exactly_the_actions_the_code_calls() {
    check_function_policy(&template()).unwrap();
}

#[test]
fn tables_match_tables_rs() {
    check_tables(&template()).unwrap();
}

#[test]
fn receipt_rule_scans_requires_tls_and_stores_before_invoking() {
    check_receipt_rule(&template()).unwrap();
}

#[test]
fn inbound_bucket_is_private_and_only_ses_writes_inbound() {
    check_inbound_bucket(&template()).unwrap();
}

/// Breaks a copy of the template in one place.
fn broken(pointer: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut template = template();
    change(template.pointer_mut(pointer).unwrap_or_else(|| panic!("template.yaml has no {pointer}")));
    template
}

fn fails(check: Check, template: &Value) -> bool {
    check(template).is_err()
}

#[test]
fn each_check_catches_a_broken_template() {
    const ENV: &str = "/Resources/Mail2SmsFunction/Properties/Environment/Variables";
    const STATEMENTS: &str = "/Resources/Mail2SmsFunction/Properties/Policies/0/Statement";
    const RULE: &str = "/Resources/ReceiptRule/Properties/Rule";
    const MESSAGES: &str = "/Resources/MessagesTable/Properties";
    const BLOCK: &str = "/Resources/InboundBucket/Properties/PublicAccessBlockConfiguration";

    let remove = |key: &'static str| move |v: &mut Value| drop(v.as_object_mut().unwrap().remove(key));
    let set = |key: &'static str, value: Value| {
        move |v: &mut Value| drop(v.as_object_mut().unwrap().insert(key.into(), value))
    };
    let push = |statement: Value| move |v: &mut Value| v.as_array_mut().unwrap().push(statement);

    let cases: Vec<(&str, Check, Value)> = vec![
        ("a variable missing", check_environment, broken(ENV, remove(vars::SCHEDULE_GROUP))),
        ("a variable too many", check_environment, broken(ENV, set("RUST_LOG", json!("debug")))),
        (
            "another runtime",
            check_function,
            broken("/Resources/Mail2SmsFunction/Properties", set("Runtime", json!("provided.al2"))),
        ),
        (
            "text logs",
            check_function,
            broken("/Resources/Mail2SmsFunction/Properties/LoggingConfig", set("LogFormat", json!("Text"))),
        ),
        ("an action missing", check_function_policy, broken(STATEMENTS, |v| drop(v.as_array_mut().unwrap().remove(0)))),
        (
            "an action too many",
            check_function_policy,
            broken(
                STATEMENTS,
                push(
                    json!({ "Effect": "Allow", "Action": "dynamodb:Scan", "Resource": { "Fn::GetAtt": ["MessagesTable", "Arn"] } }),
                ),
            ),
        ),
        (
            "an action hidden in a condition",
            check_function_policy,
            broken(
                STATEMENTS,
                push(
                    json!({ "Fn::If": ["UseSns", { "Ref": "AWS::NoValue" }, { "Effect": "Allow", "Action": "s3:PutObject", "Resource": "x" }] }),
                ),
            ),
        ),
        (
            "a managed policy",
            check_function_policy,
            broken("/Resources/Mail2SmsFunction/Properties/Policies", push(json!("AmazonS3FullAccess"))),
        ),
        ("a wildcard resource", check_function_policy, broken(&format!("{STATEMENTS}/0"), set("Resource", json!("*")))),
        ("provisioned billing", check_tables, broken(MESSAGES, set("BillingMode", json!("PROVISIONED")))),
        ("no point-in-time recovery", check_tables, broken(MESSAGES, remove("PointInTimeRecoverySpecification"))),
        ("another key", check_tables, broken(&format!("{MESSAGES}/KeySchema/0"), set("AttributeName", json!("id")))),
        (
            "a number key",
            check_tables,
            broken(&format!("{MESSAGES}/AttributeDefinitions/0"), set("AttributeType", json!("N"))),
        ),
        ("no index", check_tables, broken(MESSAGES, remove("GlobalSecondaryIndexes"))),
        (
            "a keys-only index",
            check_tables,
            broken(
                &format!("{MESSAGES}/GlobalSecondaryIndexes/0/Projection"),
                set("ProjectionType", json!("KEYS_ONLY")),
            ),
        ),
        ("no time to live", check_tables, broken(MESSAGES, remove("TimeToLiveSpecification"))),
        (
            "a time to live too many",
            check_tables,
            broken(
                "/Resources/AccountsTable/Properties",
                set("TimeToLiveSpecification", json!({ "AttributeName": "expires_at", "Enabled": true })),
            ),
        ),
        (
            "a third table",
            check_tables,
            broken("/Resources", set("OtherTable", json!({ "Type": "AWS::DynamoDB::Table", "Properties": {} }))),
        ),
        ("no scan", check_receipt_rule, broken(RULE, set("ScanEnabled", json!(false)))),
        ("optional TLS", check_receipt_rule, broken(RULE, set("TlsPolicy", json!("Optional")))),
        (
            "Lambda before S3",
            check_receipt_rule,
            broken(&format!("{RULE}/Actions"), |v| v.as_array_mut().unwrap().reverse()),
        ),
        (
            "another prefix",
            check_receipt_rule,
            broken(&format!("{RULE}/Actions/0/S3Action"), set("ObjectKeyPrefix", json!("mail/"))),
        ),
        ("no DependsOn", check_receipt_rule, broken("/Resources/ReceiptRule", remove("DependsOn"))),
        ("public ACLs", check_inbound_bucket, broken(BLOCK, set("BlockPublicAcls", json!(false)))),
        ("public policies", check_inbound_bucket, broken(BLOCK, set("RestrictPublicBuckets", json!(false)))),
        (
            "SES writes anywhere",
            check_inbound_bucket,
            broken(
                "/Resources/InboundBucketPolicy/Properties/PolicyDocument/Statement/1",
                set("Resource", json!({ "Fn::Sub": "${InboundBucket.Arn}/*" })),
            ),
        ),
        (
            "SES writes for any rule",
            check_inbound_bucket,
            broken("/Resources/InboundBucketPolicy/Properties/PolicyDocument/Statement/1/Condition", remove("ArnLike")),
        ),
    ];
    let missed: Vec<&str> =
        cases.iter().filter(|(_, check, template)| !fails(*check, template)).map(|(name, ..)| *name).collect();
    assert!(missed.is_empty(), "these broken templates passed their check: {missed:?}");

    for (name, check) in CHECKS {
        check(&template()).unwrap_or_else(|problem| panic!("{name}: {problem}"));
    }
}

#[test]
fn short_and_long_intrinsic_forms_read_alike() {
    let short: serde_yaml::Value = serde_yaml::from_str("[!Ref A, !GetAtt B.Arn, !Sub x, !If [C, 1, 2]]").unwrap();
    assert_eq!(
        to_json(short),
        json!([{ "Ref": "A" }, { "Fn::GetAtt": ["B", "Arn"] }, { "Fn::Sub": "x" }, { "Fn::If": ["C", 1, 2] }])
    );
}

/// `events/env.json` (for `sam local invoke` and `make invoke-local`) sets every variable the
/// code reads, and besides them only the emulator's endpoint.
#[test]
fn local_env_file_sets_every_variable() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/env.json");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read events/env.json")).expect("JSON");
    let set: BTreeSet<&str> =
        file[FUNCTION].as_object().expect("keyed by the function's logical id").keys().map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = vars::ALL.into_iter().collect();
    expected.insert("AWS_ENDPOINT_URL");
    assert_eq!(set, expected);
}
