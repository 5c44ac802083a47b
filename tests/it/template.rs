//! `template.yaml` agrees with the code: the function is given exactly the environment variables
//! the code reads and exactly the IAM actions it calls, the tables are the ones `tables::ALL`
//! defines, the receipt rule scans, requires TLS and stores the raw email before invoking the
//! function, and the inbound bucket is private. The delivery events reach the function: End User
//! Messaging's through an EventBridge rule that takes only our SMS, SNS's through subscription
//! filters on the two log groups SNS writes, with a role SNS can use for nothing else; and the
//! dashboard shows the metrics the function emits, in the namespace it emits them in.
//!
//! Each check is a function returning what is wrong, so that `each_check_catches_a_broken_template`
//! can prove it fails on a template broken on purpose.

use std::collections::BTreeSet;

use mail2sms::aws::FUNCTION_IAM_ACTIONS;
use mail2sms::config::{DEFAULT_IN_DOUBT_AFTER_MINUTES, DEFAULT_INBOUND_PREFIX, vars};
use mail2sms::event::CONTEXT_MESSAGE_ID;
use mail2sms::tables::{self, TableSpec};
use serde_json::{Map, Value, json};

const FUNCTION: &str = "Mail2SmsFunction";
/// The customer space's function (issue #12).
const WEB_FUNCTION: &str = "WebFunction";

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
    environment_of(template, FUNCTION)
}

fn environment_of<'t>(template: &'t Value, function: &str) -> Result<&'t Map<String, Value>, String> {
    resource(template, function)?["Properties"]["Environment"]["Variables"]
        .as_object()
        .ok_or_else(|| format!("{function} has no Environment.Variables"))
}

/// The one `AWS::Lambda::Permission` that lets `principal` invoke the function.
fn permission_for<'t>(template: &'t Value, principal: &str) -> Result<(&'t String, &'t Value), String> {
    let found: Vec<_> = of_type(template, "AWS::Lambda::Permission")?
        .into_iter()
        .filter(|(_, permission)| permission["Properties"]["Principal"] == principal)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        many => Err(format!("expected exactly one permission for {principal}, found {}", many.len())),
    }
}

/// The stack the template is read as deployed in, for `Fn::Sub`.
const STACK: &str = "mail2sms-test";
const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

/// What `Fn::Sub` makes of `text` in a stack named [`STACK`] in [`REGION`]: the pseudo parameters
/// replaced, `${!x}` written `${x}`. Any other reference is an error (this test cannot resolve it).
fn substitute(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("an unclosed ${{ in {text:?}"))?;
        let name = &after[..end];
        match name {
            "AWS::StackName" => out.push_str(STACK),
            "AWS::Region" => out.push_str(REGION),
            "AWS::AccountId" => out.push_str(ACCOUNT),
            "AWS::Partition" => out.push_str("aws"),
            literal if literal.starts_with('!') => out.push_str(&format!("${{{}}}", &literal[1..])),
            other => return Err(format!("a reference this test cannot resolve: ${{{other}}}")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The string an `Fn::Sub` (short form, no variable map) stands for.
fn sub_string(value: &Value) -> Result<String, String> {
    let text = value["Fn::Sub"].as_str().ok_or_else(|| format!("not an Fn::Sub of a string: {value}"))?;
    substitute(text)
}

/// The function's metrics namespace, in the stack [`STACK`].
fn metrics_namespace(template: &Value) -> Result<String, String> {
    let variable = function_environment(template)?
        .get(vars::METRICS_NAMESPACE)
        .ok_or_else(|| format!("{FUNCTION} has no {}", vars::METRICS_NAMESPACE))?;
    sub_string(variable).map_err(|problem| format!("{}: {problem}", vars::METRICS_NAMESPACE))
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
fn statements_of<'t>(template: &'t Value, function: &str) -> Result<Vec<&'t Value>, String> {
    let policies = resource(template, function)?["Properties"]["Policies"]
        .as_array()
        .ok_or_else(|| format!("{function} has no Policies list"))?;
    let mut statements = Vec::new();
    for policy in policies {
        // A managed policy or a SAM policy template would grant actions this test cannot see.
        let document = policy
            .get("Statement")
            .ok_or_else(|| format!("{function} has a policy that is not an inline document: {policy}"))?;
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
    policy_grants_exactly(template, FUNCTION, FUNCTION_IAM_ACTIONS)
}

/// `function`'s own policies grant exactly `actions`; only `sns:Publish` on "*".
fn policy_grants_exactly(template: &Value, function: &str, actions: &[&str]) -> Result<(), String> {
    let mut granted = BTreeSet::new();
    for statement in statements_of(template, function)? {
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
    let called: BTreeSet<&str> = actions.iter().copied().collect();
    let missing: Vec<_> = called.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&called).collect();
    ensure(missing.is_empty() && extra.is_empty(), || {
        format!("{function}'s policy: missing {missing:?}, not called by the code {extra:?}")
    })
}

// ----- The customer space (issue #12) -----

/// The web function reads the gateway's variables (a web send goes through the same pipeline)
/// and the customer space's own, no other; each gateway variable has the mail function's value.
fn check_web_environment(template: &Value) -> Result<(), String> {
    let web = environment_of(template, WEB_FUNCTION)?;
    let set: BTreeSet<&str> = web.keys().map(String::as_str).collect();
    let read: BTreeSet<&str> = vars::ALL.into_iter().chain(mail2sms::web::settings::vars::ALL).collect();
    let missing: Vec<_> = read.difference(&set).collect();
    let extra: Vec<_> = set.difference(&read).collect();
    ensure(missing.is_empty() && extra.is_empty(), || {
        format!("{WEB_FUNCTION}'s environment: missing {missing:?}, not read by the code {extra:?}")
    })?;
    let mail = function_environment(template)?;
    for name in vars::ALL {
        ensure(web.get(name) == mail.get(name), || format!("{WEB_FUNCTION}'s {name} is not {FUNCTION}'s"))?;
    }
    let arn = json!({ "Fn::GetAtt": [FUNCTION, "Arn"] });
    ensure(web.get(mail2sms::web::settings::vars::MAIL_FUNCTION_ARN) == Some(&arn), || {
        "a web send dated later must schedule the mail function".into()
    })
}

/// The web function is the Rust bootstrap with JSON logs, behind a function URL whose output is
/// given; its policy grants exactly what its code calls.
fn check_web_function(template: &Value) -> Result<(), String> {
    let function = resource(template, WEB_FUNCTION)?;
    ensure(function["Metadata"]["BuildMethod"] == "makefile", || {
        "the web function is not built by the Makefile".into()
    })?;
    let properties = &function["Properties"];
    ensure(properties["Runtime"] == "provided.al2023" && properties["Handler"] == "bootstrap", || {
        "the web function is not a provided.al2023 bootstrap".into()
    })?;
    ensure(properties["LoggingConfig"]["LogFormat"] == "JSON", || "the web function's logs are not JSON".into())?;
    ensure(properties["FunctionUrlConfig"]["AuthType"] == "NONE", || {
        "the web function has no public function URL".into()
    })?;
    ensure(
        template["Outputs"]["CustomerSpaceUrl"]["Value"] == json!({ "Fn::GetAtt": ["WebFunctionUrl", "FunctionUrl"] }),
        || "no CustomerSpaceUrl output".into(),
    )?;
    policy_grants_exactly(template, WEB_FUNCTION, mail2sms::web::WEB_IAM_ACTIONS)
}

/// Exactly two functions: the mail function and the customer space.
fn check_functions(template: &Value) -> Result<(), String> {
    let ids: BTreeSet<&str> =
        of_type(template, "AWS::Serverless::Function")?.into_iter().map(|(id, _)| id.as_str()).collect();
    ensure(ids == BTreeSet::from([FUNCTION, WEB_FUNCTION]), || format!("the functions are {ids:?}"))
}

fn key_schema(partition_key: &str, sort_key: Option<&str>) -> Value {
    let mut keys = vec![json!({ "AttributeName": partition_key, "KeyType": "HASH" })];
    keys.extend(sort_key.map(|sort| json!({ "AttributeName": sort, "KeyType": "RANGE" })));
    Value::Array(keys)
}

fn check_table(template: &Value, spec: &TableSpec, function: &str) -> Result<(), String> {
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

    let variable = environment_of(template, function)?.get(spec.env_var);
    ensure(variable == Some(&json!({ "Ref": id })), || {
        format!("{function}'s {} is {variable:?}, not the table {id}", spec.env_var)
    })
}

/// The template declares exactly the tables of `tables::ALL`.
fn check_tables(template: &Value) -> Result<(), String> {
    for spec in &tables::ALL {
        check_table(template, spec, FUNCTION)?;
    }
    check_table(template, &tables::WEB, WEB_FUNCTION)?;
    let declared: BTreeSet<&str> =
        of_type(template, "AWS::DynamoDB::Table")?.into_iter().map(|(id, _)| id.as_str()).collect();
    let defined: BTreeSet<&str> = tables::ALL.iter().chain([&tables::WEB]).map(|spec| spec.logical_id).collect();
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
    let (permission_id, _) = permission_for(template, "ses.amazonaws.com")?;
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

/// The delivery settings are parameters with the code's defaults and bounds, handed to the
/// function, and every parameter is shown in one group of the console's form.
fn check_delivery_parameters(template: &Value) -> Result<(), String> {
    let expected = [
        (
            "RefundFailedDeliveries",
            vars::REFUND_FAILED_DELIVERIES,
            json!({ "Type": "String", "Default": "true", "AllowedValues": ["true", "false"] }),
        ),
        (
            "InDoubtAfterMinutes",
            vars::IN_DOUBT_AFTER_MINUTES,
            json!({ "Type": "Number", "Default": DEFAULT_IN_DOUBT_AFTER_MINUTES, "MinValue": 1, "MaxValue": 1440 }),
        ),
        (
            "InDoubtPolicy",
            vars::IN_DOUBT_POLICY,
            json!({ "Type": "String", "Default": "auto", "AllowedValues": ["auto", "resend", "refund"] }),
        ),
    ];
    let environment = function_environment(template)?;
    for (name, variable, constraints) in expected {
        let parameter = &template["Parameters"][name];
        for (key, value) in constraints.as_object().expect("an object") {
            ensure(parameter[key] == *value, || {
                format!("parameter {name}'s {key} is {}, not {value}", parameter[key])
            })?;
        }
        ensure(environment.get(variable) == Some(&json!({ "Ref": name })), || {
            format!("{variable} is {:?}, not the parameter {name}", environment.get(variable))
        })?;
    }

    let declared: BTreeSet<&str> = template["Parameters"]
        .as_object()
        .ok_or("the template has no Parameters")?
        .keys()
        .map(String::as_str)
        .collect();
    let groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        .as_array()
        .ok_or("the template has no ParameterGroups")?;
    let grouped: Vec<&str> = groups.iter().flat_map(|group| strings(&group["Parameters"])).collect();
    let unique: BTreeSet<&str> = grouped.iter().copied().collect();
    ensure(grouped.len() == unique.len(), || format!("a parameter is in two groups: {grouped:?}"))?;
    ensure(unique == declared, || {
        let outside: Vec<_> = declared.difference(&unique).collect();
        let unknown: Vec<_> = unique.difference(&declared).collect();
        format!("parameters in no group {outside:?}, groups naming no parameter {unknown:?}")
    })
}

/// End User Messaging's delivery events reach the function through a rule on the default bus
/// that takes only text-message delivery statuses whose context names a Mail2SMS message, and
/// hands the event over as it is.
fn check_delivery_events_rule(template: &Value) -> Result<(), String> {
    let events = resource(template, FUNCTION)?["Properties"]["Events"]
        .as_object()
        .ok_or_else(|| format!("{FUNCTION} has no Events"))?;
    let rules: Vec<(&String, &Value)> = events
        .iter()
        .filter(|(_, event)| event["Type"] == "EventBridgeRule")
        .filter(|(_, event)| strings(&event["Properties"]["Pattern"]["source"]).contains(&"aws.sms-voice"))
        .collect();
    let [(id, rule)] = rules.as_slice() else {
        return Err(format!(
            "{FUNCTION} needs exactly one EventBridgeRule event on aws.sms-voice, found {}",
            rules.len()
        ));
    };
    let properties = &rule["Properties"];
    let pattern = &properties["Pattern"];
    ensure(pattern["source"] == json!(["aws.sms-voice"]), || {
        format!("{id} takes other sources: {}", pattern["source"])
    })?;
    ensure(pattern["detail-type"] == json!(["Text Message Delivery Status Updated"]), || {
        format!("{id} takes other events than text-message delivery statuses: {}", pattern["detail-type"])
    })?;
    let context = &pattern["detail"]["context"];
    ensure(context[CONTEXT_MESSAGE_ID] == json!([{ "exists": true }]), || {
        format!("{id} does not keep to the SMS whose context carries {CONTEXT_MESSAGE_ID}: {context}")
    })?;
    let bus = properties.get("EventBusName");
    ensure(bus.is_none() || bus == Some(&json!("default")), || {
        format!("{id} listens on {bus:?}; End User Messaging publishes on the default bus")
    })?;
    for reshaping in ["Input", "InputPath", "InputTransformer"] {
        ensure(properties.get(reshaping).is_none(), || format!("{id} reshapes the event ({reshaping})"))?;
    }
    let state = properties.get("State");
    ensure(state.is_none() || state == Some(&json!("ENABLED")), || format!("{id} is not enabled: {state:?}"))
}

/// The names SNS writes SMS delivery statuses under, as `Fn::Sub` strings.
const SNS_LOG_GROUPS: [&str; 2] = [
    "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber",
    "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure",
];

fn log_group_arn(name: &str) -> String {
    format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}")
}

/// Both groups SNS writes to are created under SNS's names (unless `CreateSnsLogGroups` is false,
/// when the same names are used), kept as long as the function's logs, and each has one filter
/// that hands every line to the function, created after the permission that lets CloudWatch Logs
/// invoke it for that group only.
fn check_sns_delivery_logs(template: &Value) -> Result<(), String> {
    let filters = of_type(template, "AWS::Logs::SubscriptionFilter")?;
    ensure(filters.len() == SNS_LOG_GROUPS.len(), || {
        format!("expected {} subscription filters, found {}", SNS_LOG_GROUPS.len(), filters.len())
    })?;
    for name in SNS_LOG_GROUPS {
        let sub = json!({ "Fn::Sub": name });
        let groups: Vec<_> = of_type(template, "AWS::Logs::LogGroup")?
            .into_iter()
            .filter(|(_, group)| group["Properties"]["LogGroupName"] == sub)
            .collect();
        let [(group_id, group)] = groups.as_slice() else {
            return Err(format!("expected one log group named {name}, found {}", groups.len()));
        };
        ensure(group["Properties"]["RetentionInDays"] == json!({ "Ref": "LogRetentionDays" }), || {
            format!("{group_id} is not kept LogRetentionDays days")
        })?;
        let condition = group["Condition"].as_str().ok_or_else(|| format!("{group_id} has no Condition"))?;
        ensure(
            template["Conditions"][condition] == json!({ "Fn::Equals": [{ "Ref": "CreateSnsLogGroups" }, "true"] }),
            || format!("{group_id}'s condition {condition} is not CreateSnsLogGroups = true"),
        )?;

        let expected_name = json!({ "Fn::If": [condition, { "Ref": group_id }, sub] });
        let (filter_id, filter) = filters
            .iter()
            .find(|(_, filter)| filter["Properties"]["LogGroupName"] == expected_name)
            .ok_or_else(|| format!("no subscription filter on {name} (expected LogGroupName {expected_name})"))?;
        let properties = &filter["Properties"];
        ensure(properties["FilterPattern"] == "", || format!("{filter_id} keeps only some lines"))?;
        ensure(properties["DestinationArn"] == json!({ "Fn::GetAtt": [FUNCTION, "Arn"] }), || {
            format!("{filter_id} does not hand the lines to {FUNCTION}")
        })?;

        let permissions: Vec<_> = of_type(template, "AWS::Lambda::Permission")?
            .into_iter()
            .filter(|(_, p)| p["Properties"]["SourceArn"] == json!({ "Fn::Sub": format!("{}:*", log_group_arn(name)) }))
            .collect();
        let [(permission_id, permission)] = permissions.as_slice() else {
            return Err(format!(
                "expected one invoke permission for the log group {name}, found {}",
                permissions.len()
            ));
        };
        let properties = &permission["Properties"];
        ensure(properties["Principal"] == "logs.amazonaws.com", || {
            format!("{permission_id} is not for CloudWatch Logs")
        })?;
        ensure(properties["Action"] == "lambda:InvokeFunction", || {
            format!("{permission_id} grants {}", properties["Action"])
        })?;
        ensure(properties["FunctionName"] == json!({ "Fn::GetAtt": [FUNCTION, "Arn"] }), || {
            format!("{permission_id} is not {FUNCTION}'s")
        })?;
        ensure(properties["SourceAccount"] == json!({ "Ref": "AWS::AccountId" }), || {
            format!("{permission_id} is not limited to our account")
        })?;
        ensure(strings(&filter["DependsOn"]).contains(&permission_id.as_str()), || {
            format!("{filter_id} must depend on {permission_id} (CloudWatch Logs checks it may invoke the function)")
        })?;
    }
    Ok(())
}

/// The role the stack hands SNS (output `SnsDeliveryStatusRoleArn`, for `make activate`) is
/// assumable by SNS alone and may only create and write the two delivery-status log groups.
fn check_sns_delivery_status_role(template: &Value) -> Result<(), String> {
    let output = &template["Outputs"]["SnsDeliveryStatusRoleArn"]["Value"]["Fn::GetAtt"];
    let role_id = match output.as_array().map(Vec::as_slice) {
        Some([Value::String(id), attribute]) if attribute == "Arn" => id.as_str(),
        _ => return Err("no output SnsDeliveryStatusRoleArn with a role's Arn".into()),
    };
    let role = resource(template, role_id)?;
    ensure(role["Type"] == "AWS::IAM::Role", || format!("{role_id} is not a role"))?;
    let properties = &role["Properties"];
    let trust = properties["AssumeRolePolicyDocument"]["Statement"]
        .as_array()
        .ok_or_else(|| format!("{role_id} has no trust statements"))?;
    let [trust] = trust.as_slice() else {
        return Err(format!("{role_id} must trust one principal, it has {} statements", trust.len()));
    };
    ensure(trust["Effect"] == "Allow" && trust["Action"] == "sts:AssumeRole", || {
        format!("{role_id}'s trust: {trust}")
    })?;
    ensure(strings(&trust["Principal"]["Service"]) == ["sns.amazonaws.com"], || {
        format!("{role_id} is assumable by {}, not SNS alone", trust["Principal"])
    })?;
    ensure(trust["Principal"].as_object().is_some_and(|p| p.len() == 1), || {
        format!("{role_id} trusts more than the SNS service: {}", trust["Principal"])
    })?;
    ensure(properties.get("ManagedPolicyArns").is_none(), || format!("{role_id} has managed policies"))?;

    let needed = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"];
    let allowed: BTreeSet<&str> =
        needed.into_iter().chain(["logs:PutMetricFilter", "logs:PutRetentionPolicy"]).collect();
    let resources: BTreeSet<String> =
        SNS_LOG_GROUPS.iter().flat_map(|name| [log_group_arn(name), format!("{}:*", log_group_arn(name))]).collect();
    let mut granted = BTreeSet::new();
    let policies = properties["Policies"].as_array().ok_or_else(|| format!("{role_id} has no policies"))?;
    for policy in policies {
        let statements =
            policy["PolicyDocument"]["Statement"].as_array().ok_or_else(|| format!("{role_id}: {policy}"))?;
        for statement in statements {
            ensure(statement["Effect"] == "Allow" && statement.get("NotAction").is_none(), || {
                format!("{role_id}: unexpected statement {statement}")
            })?;
            let actions = strings(&statement["Action"]);
            ensure(actions.iter().all(|action| allowed.contains(action)), || {
                format!("{role_id} may do more than write logs: {actions:?}")
            })?;
            granted.extend(actions);
            let targets = match &statement["Resource"] {
                Value::Array(items) => items.clone(),
                one => vec![one.clone()],
            };
            for target in targets {
                let arn = target["Fn::Sub"].as_str().unwrap_or_default();
                ensure(resources.contains(arn), || format!("{role_id} may write to {target}, not only SNS's groups"))?;
            }
        }
    }
    ensure(needed.iter().all(|action| granted.contains(action)), || {
        format!("{role_id} lacks some of {needed:?}: it grants {granted:?}")
    })
}

/// A metric's one dimension and the values the function gives it.
type Dimension = (&'static str, &'static [&'static str]);

/// The metrics the function emits (src/metrics.rs), as the dashboard must show them: name, and
/// dimension with its values (none for a metric without dimensions).
const EMITTED: [(&str, Option<Dimension>); 5] = [
    (
        "Emails",
        Some((
            "Outcome",
            &["sent", "partially_failed", "failed", "scheduled", "rejected", "dropped", "duplicate", "previewed"],
        )),
    ),
    ("Sms", Some(("Delivery", &["delivered", "failed", "expired", "unconfirmed", "unknown"]))),
    ("CreditsDebited", None),
    ("CreditsRefunded", None),
    ("InboundSms", Some(("Kind", &["answer", "stop", "start", "unmatched"]))),
];

/// One graphed metric of the dashboard: namespace, name, dimensions and statistic.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Graphed {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
    stat: String,
}

/// The dashboard's graphed metrics (a "." repeats the row above) and its search expressions.
fn dashboard_metrics(body: &Value) -> Result<(Vec<Graphed>, Vec<String>), String> {
    let widgets = body["widgets"].as_array().ok_or("the dashboard has no widgets")?;
    let (mut graphed, mut expressions) = (Vec::new(), Vec::new());
    for widget in widgets.iter().filter(|widget| widget["type"] == "metric") {
        let properties = &widget["properties"];
        ensure(properties["region"] == REGION, || format!("a widget is not in the stack's region: {widget}"))?;
        let mut above: Vec<String> = Vec::new();
        for row in properties["metrics"].as_array().ok_or_else(|| format!("a widget without metrics: {widget}"))? {
            let row = row.as_array().ok_or_else(|| format!("a metric row that is not an array: {row}"))?;
            let (options, fields) = match row.split_last() {
                Some((last @ Value::Object(_), fields)) => (last, fields),
                _ => (&Value::Null, row.as_slice()),
            };
            if let Some(expression) = options["expression"].as_str() {
                expressions.push(expression.to_owned());
                continue;
            }
            let fields: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, field)| match field.as_str() {
                    Some(".") => above.get(i).cloned().ok_or_else(|| format!("a \".\" with nothing above: {row:?}")),
                    Some(text) => Ok(text.to_owned()),
                    None => Err(format!("a metric field that is not a string: {field}")),
                })
                .collect::<Result<_, _>>()?;
            let [namespace, name, dimensions @ ..] = fields.as_slice() else {
                return Err(format!("a metric row without namespace and name: {row:?}"));
            };
            ensure(dimensions.len() % 2 == 0, || format!("a dimension without its value: {row:?}"))?;
            let stat = options["stat"].as_str().or(properties["stat"].as_str()).unwrap_or("Average");
            graphed.push(Graphed {
                namespace: namespace.clone(),
                name: name.clone(),
                dimensions: dimensions.chunks(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect(),
                stat: stat.to_owned(),
            });
            above = fields;
        }
    }
    Ok((graphed, expressions))
}

/// The dashboard's body is JSON once CloudFormation substituted it, every metric it graphs is
/// in the namespace the function emits into, and it graphs each metric the function emits:
/// emails by outcome, SMS by delivery, credits debited and refunded (sums), the acceptance
/// latency's p50 and p99, and the rejections of every status code (a search: the codes are many).
fn check_dashboard(template: &Value) -> Result<(), String> {
    let namespace = metrics_namespace(template)?;
    ensure(namespace == format!("Mail2SMS/{STACK}"), || format!("the metrics namespace is {namespace}"))?;
    let (id, dashboard) = the_one_of_type(template, "AWS::CloudWatch::Dashboard")?;
    let text = sub_string(&dashboard["Properties"]["DashboardBody"]).map_err(|problem| format!("{id}: {problem}"))?;
    let body: Value = serde_json::from_str(&text).map_err(|error| format!("{id}'s body is not JSON: {error}"))?;
    let (graphed, expressions) = dashboard_metrics(&body)?;

    let elsewhere: Vec<_> = graphed.iter().filter(|metric| metric.namespace != namespace).collect();
    ensure(elsewhere.is_empty(), || format!("{id} graphs metrics outside {namespace}: {elsewhere:?}"))?;
    let shows = |name: &str, dimensions: Vec<(String, String)>, stat: &str| {
        let wanted = Graphed { namespace: namespace.clone(), name: name.into(), dimensions, stat: stat.into() };
        ensure(graphed.contains(&wanted), || format!("{id} does not graph {wanted:?}"))
    };
    for (name, dimension) in EMITTED {
        match dimension {
            None => shows(name, Vec::new(), "Sum")?,
            Some((dimension, values)) => {
                for value in values {
                    shows(name, vec![(dimension.into(), (*value).into())], "Sum")?;
                }
            }
        }
    }
    for percentile in ["p50", "p99"] {
        shows("AcceptanceLatency", Vec::new(), percentile)?;
    }
    let rejections = format!(r#"SEARCH('{{"{namespace}",Status}} MetricName="Rejections"', 'Sum'"#);
    ensure(expressions.iter().any(|expression| expression.starts_with(&rejections)), || {
        format!("{id} does not search the rejections by status ({rejections}...): {expressions:?}")
    })
}

/// The alarms on the function's own metrics read them in its namespace, and notify as the
/// other alarms do.
fn check_metric_alarms(template: &Value) -> Result<(), String> {
    let namespace = json!({ "Fn::Sub": function_environment(template)?[vars::METRICS_NAMESPACE]["Fn::Sub"] });
    let notify = json!({ "Fn::If": ["HasAlarmEmail", [{ "Ref": "AlarmTopic" }], { "Ref": "AWS::NoValue" }] });
    for (id, alarm) in of_type(template, "AWS::CloudWatch::Alarm")? {
        let properties = &alarm["Properties"];
        ensure(properties["AlarmActions"] == notify, || format!("{id} does not notify AlarmEmail"))?;
        for query in properties["Metrics"].as_array().into_iter().flatten() {
            let metric = &query["MetricStat"]["Metric"];
            if !metric.is_null() {
                ensure(metric["Namespace"] == namespace, || {
                    format!("{id} reads {} not {namespace}", metric["Namespace"])
                })?;
            }
        }
    }
    Ok(())
}

const CHECKS: [(&str, Check); 15] = [
    ("environment", check_environment),
    ("function", check_function),
    ("function policy", check_function_policy),
    ("tables", check_tables),
    ("receipt rule", check_receipt_rule),
    ("inbound bucket", check_inbound_bucket),
    ("the two functions", check_functions),
    ("web environment", check_web_environment),
    ("web function", check_web_function),
    ("delivery parameters", check_delivery_parameters),
    ("delivery events rule", check_delivery_events_rule),
    ("SNS delivery logs", check_sns_delivery_logs),
    ("SNS delivery status role", check_sns_delivery_status_role),
    ("dashboard", check_dashboard),
    ("metric alarms", check_metric_alarms),
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
fn the_customer_space_is_a_second_function_with_its_own_least_privilege_and_the_gateways_settings() {
    let template = template();
    check_functions(&template).unwrap();
    check_web_environment(&template).unwrap();
    check_web_function(&template).unwrap();
}

#[test]
fn receipt_rule_scans_requires_tls_and_stores_before_invoking() {
    check_receipt_rule(&template()).unwrap();
}

#[test]
fn inbound_bucket_is_private_and_only_ses_writes_inbound() {
    check_inbound_bucket(&template()).unwrap();
}

#[test]
fn delivery_settings_are_parameters_with_the_codes_defaults() {
    check_delivery_parameters(&template()).unwrap();
}

#[test]
fn end_user_messaging_delivery_events_of_our_sms_reach_the_function() {
    check_delivery_events_rule(&template()).unwrap();
}

#[test]
fn both_sns_delivery_log_groups_are_subscribed_to_the_function() {
    check_sns_delivery_logs(&template()).unwrap();
}

#[test]
fn sns_delivery_status_role_is_for_sns_and_its_two_log_groups_only() {
    check_sns_delivery_status_role(&template()).unwrap();
}

#[test]
fn dashboard_is_json_and_graphs_every_emitted_metric_in_the_functions_namespace() {
    check_dashboard(&template()).unwrap();
}

#[test]
fn metric_alarms_read_the_functions_namespace() {
    check_metric_alarms(&template()).unwrap();
}

#[test]
fn substitution_resolves_pseudo_parameters_and_refuses_the_rest() {
    assert_eq!(
        substitute("a/${AWS::StackName}/${AWS::Region}/${!Literal}").unwrap(),
        "a/mail2sms-test/eu-west-1/${Literal}"
    );
    assert!(substitute("${Mail2SmsFunction.Arn}").is_err());
    assert!(substitute("${AWS::StackName").is_err());
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
    const PATTERN: &str =
        "/Resources/Mail2SmsFunction/Properties/Events/EndUserMessagingDeliveryStatus/Properties/Pattern";
    const SNS_ROLE: &str = "/Resources/SnsDeliveryStatusRole/Properties";
    const BODY: &str = "/Resources/Dashboard/Properties/DashboardBody";

    let remove = |key: &'static str| move |v: &mut Value| drop(v.as_object_mut().unwrap().remove(key));
    let set = |key: &'static str, value: Value| {
        move |v: &mut Value| drop(v.as_object_mut().unwrap().insert(key.into(), value))
    };
    let push = |statement: Value| move |v: &mut Value| v.as_array_mut().unwrap().push(statement);
    let edit_body = |from: &'static str, to: &'static str| {
        move |v: &mut Value| {
            let body = v["Fn::Sub"].as_str().unwrap();
            assert!(body.contains(from), "the dashboard's body has no {from:?}");
            v["Fn::Sub"] = json!(body.replace(from, to));
        }
    };

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
        (
            "another in-doubt window",
            check_delivery_parameters,
            broken("/Parameters/InDoubtAfterMinutes", set("Default", json!(60))),
        ),
        (
            "an unbounded in-doubt window",
            check_delivery_parameters,
            broken("/Parameters/InDoubtAfterMinutes", remove("MaxValue")),
        ),
        (
            "a policy the code does not know",
            check_delivery_parameters,
            broken("/Parameters/InDoubtPolicy", set("AllowedValues", json!(["auto", "resend", "refund", "ignore"]))),
        ),
        (
            "a constant refund setting",
            check_delivery_parameters,
            broken(ENV, set(vars::REFUND_FAILED_DELIVERIES, json!("true"))),
        ),
        (
            "a parameter in no group",
            check_delivery_parameters,
            broken("/Parameters", set("Orphan", json!({ "Type": "String", "Default": "" }))),
        ),
        ("every source", check_delivery_events_rule, broken(PATTERN, remove("source"))),
        ("every event of the service", check_delivery_events_rule, broken(PATTERN, remove("detail-type"))),
        ("everyone's SMS", check_delivery_events_rule, broken(PATTERN, remove("detail"))),
        (
            "another context key",
            check_delivery_events_rule,
            broken(&format!("{PATTERN}/detail/context"), |v| {
                let filter = v.as_object_mut().unwrap().remove(CONTEXT_MESSAGE_ID).unwrap();
                v["message_id"] = filter;
            }),
        ),
        (
            "a custom bus",
            check_delivery_events_rule,
            broken(
                "/Resources/Mail2SmsFunction/Properties/Events/EndUserMessagingDeliveryStatus/Properties",
                set("EventBusName", json!("mail2sms")),
            ),
        ),
        (
            "a misnamed failure log group",
            check_sns_delivery_logs,
            broken(
                "/Resources/SnsDeliveryFailureLogGroup/Properties",
                set(
                    "LogGroupName",
                    json!({ "Fn::Sub": "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumberFailure" }),
                ),
            ),
        ),
        (
            "log groups kept forever",
            check_sns_delivery_logs,
            broken("/Resources/SnsDeliveryLogGroup/Properties", remove("RetentionInDays")),
        ),
        (
            "a filter on some lines",
            check_sns_delivery_logs,
            broken("/Resources/SnsDeliveryLogSubscription/Properties", set("FilterPattern", json!("ERROR"))),
        ),
        (
            "a filter before its permission",
            check_sns_delivery_logs,
            broken("/Resources/SnsDeliveryFailureLogSubscription", remove("DependsOn")),
        ),
        (
            "a permission for every log group",
            check_sns_delivery_logs,
            broken("/Resources/SnsDeliveryLogInvokePermission/Properties", remove("SourceArn")),
        ),
        (
            "a permission for another service",
            check_sns_delivery_logs,
            broken(
                "/Resources/SnsDeliveryFailureLogInvokePermission/Properties",
                set("Principal", json!("events.amazonaws.com")),
            ),
        ),
        (
            "a role anyone may assume",
            check_sns_delivery_status_role,
            broken(
                &format!("{SNS_ROLE}/AssumeRolePolicyDocument/Statement/0"),
                set("Principal", json!({ "AWS": "*" })),
            ),
        ),
        (
            "a role that writes any log group",
            check_sns_delivery_status_role,
            broken(&format!("{SNS_ROLE}/Policies/0/PolicyDocument/Statement/0"), set("Resource", json!("*"))),
        ),
        (
            "a role that deletes logs",
            check_sns_delivery_status_role,
            broken(&format!("{SNS_ROLE}/Policies/0/PolicyDocument/Statement/0"), set("Action", json!(["logs:*"]))),
        ),
        ("no role output", check_sns_delivery_status_role, broken("/Outputs", remove("SnsDeliveryStatusRoleArn"))),
        ("a body that is not JSON", check_dashboard, broken(BODY, edit_body(r#""widgets": ["#, r#""widgets": [,"#))),
        ("a delivery status missing", check_dashboard, broken(BODY, edit_body(r#""unconfirmed""#, r#""unconfirmd""#))),
        ("no p99", check_dashboard, broken(BODY, edit_body(r#""p99""#, r#""p90""#))),
        (
            "no rejections",
            check_dashboard,
            broken(BODY, edit_body(r#"MetricName=\"Rejections\""#, r#"MetricName=\"Rejected\""#)),
        ),
        (
            "a namespace the function does not emit into",
            check_dashboard,
            broken(
                BODY,
                edit_body(r#""Mail2SMS/${AWS::StackName}", "CreditsRefunded""#, r#""Mail2SMS", "CreditsRefunded""#),
            ),
        ),
        ("an unresolvable reference", check_dashboard, broken(BODY, edit_body("${AWS::Region}", "${Region}"))),
        (
            "an alarm in another namespace",
            check_metric_alarms,
            broken(
                "/Resources/SmsDeliveryFailuresAlarm/Properties/Metrics/0/MetricStat/Metric",
                set("Namespace", json!("Mail2SMS")),
            ),
        ),
    ];
    const WEB_ENV: &str = "/Resources/WebFunction/Properties/Environment/Variables";
    const WEB_STATEMENTS: &str = "/Resources/WebFunction/Properties/Policies/0/Statement";
    let cases: Vec<(&str, Check, Value)> = cases
        .into_iter()
        .chain([
            ("a web variable missing", check_web_environment as Check, broken(WEB_ENV, remove("WEB_TABLE"))),
            ("a gateway variable missing on the web", check_web_environment, broken(WEB_ENV, remove(vars::SMS_PROVIDER))),
            ("another provider on the web", check_web_environment, broken(WEB_ENV, set(vars::SMS_PROVIDER, json!("eum")))),
            ("no web table", check_tables, broken("/Resources", remove("WebTable"))),
            (
                "a web table without expiry",
                check_tables,
                broken("/Resources/WebTable/Properties", remove("TimeToLiveSpecification")),
            ),
            (
                "a web action too many",
                check_web_function,
                broken(WEB_STATEMENTS, push(json!({ "Effect": "Allow", "Action": "dynamodb:Scan", "Resource": { "Fn::GetAtt": ["AccountsTable", "Arn"] } }))),
            ),
            (
                "a web action missing",
                check_web_function,
                broken(WEB_STATEMENTS, |v| v.as_array_mut().unwrap().retain(|st| st["Sid"] != "ScheduleLaterSendsInOurGroup")),
            ),
            ("no function URL", check_web_function, broken("/Resources/WebFunction/Properties", remove("FunctionUrlConfig"))),
            (
                "a third function",
                check_functions,
                broken("/Resources", set("OtherFunction", json!({ "Type": "AWS::Serverless::Function", "Properties": {} }))),
            ),
        ])
        .collect();
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

/// `events/env.json` (for `sam local invoke`, `make invoke-local` and the emulator session's
/// `export` lines) sets every variable the code reads, and besides them only the emulator's
/// endpoint: the mail function's under its logical id, and under the web function's what the
/// customer space reads besides them (`WEB_TABLE`…, which `mail2sms-admin` reads too).
#[test]
fn local_env_file_sets_every_variable() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/env.json");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read events/env.json")).expect("JSON");
    let set = |function: &str| -> BTreeSet<String> {
        file[function].as_object().expect("keyed by the function's logical id").keys().cloned().collect()
    };
    let mut expected: BTreeSet<String> = vars::ALL.into_iter().map(str::to_owned).collect();
    expected.insert("AWS_ENDPOINT_URL".to_owned());
    assert_eq!(set(FUNCTION), expected);
    let web: BTreeSet<String> = mail2sms::web::settings::vars::ALL.into_iter().map(str::to_owned).collect();
    assert_eq!(set(WEB_FUNCTION), web);
}

/// Answers by SMS (two-way SMS): End User Messaging of this account, and only it, may publish to
/// the inbound topic (a standard topic: FIFO ones cannot be a two-way channel), the function is
/// subscribed to it, its ARN is an output for `update-phone-number --two-way-channel-arn`, and
/// `TWO_WAY` is a parameter, off by default.
#[test]
fn the_inbound_sms_topic_is_open_to_end_user_messaging_and_reaches_the_function() {
    let template = template();
    let topic = json!({ "Ref": "InboundSmsTopic" });
    let resource_of = |id: &str| resource(&template, id).unwrap();
    assert_eq!(resource_of("InboundSmsTopic")["Type"], "AWS::SNS::Topic");
    assert!(resource_of("InboundSmsTopic")["Properties"].get("FifoTopic").is_none());
    let events = resource_of(FUNCTION)["Properties"]["Events"].as_object().expect("the function's events");
    let subscriptions = events.values().filter(|event| event["Type"] == "SNS").collect::<Vec<_>>();
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert_eq!(subscriptions[0]["Properties"]["Topic"], topic);

    let (_, policy) = the_one_of_type(&template, "AWS::SNS::TopicPolicy").unwrap();
    assert_eq!(policy["Properties"]["Topics"], json!([topic.clone()]));
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1);
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Principal"], json!({ "Service": "sms-voice.amazonaws.com" }));
    assert_eq!(strings(&statement["Action"]), ["sns:Publish"]);
    assert_eq!(statement["Resource"], topic);
    assert_eq!(statement["Condition"]["StringEquals"]["aws:SourceAccount"], json!({ "Ref": "AWS::AccountId" }));

    assert_eq!(template["Outputs"]["InboundSmsTopicArn"]["Value"], topic);
    assert_eq!(function_environment(&template).unwrap().get(vars::TWO_WAY), Some(&json!({ "Ref": "TwoWay" })));
    let parameter = &template["Parameters"]["TwoWay"];
    assert_eq!((&parameter["Default"], &parameter["AllowedValues"]), (&json!("false"), &json!(["true", "false"])));
}
