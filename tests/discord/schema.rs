//! Discord's OpenAPI description as the contract for what the bot sends: finds the path template
//! of a request, compiles its JSON body schema once, and reports each violation as readable text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context as _;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{json, Value};

/// Discord's limit for a bot's message content. The spec says 4000 for channel messages, which is
/// what Nitro users get; a bot's 2001st character is refused with "Must be 2000 or fewer in length".
pub const BOT_CONTENT_LIMIT: usize = 2000;
/// Discord refuses a message whose embeds hold more than this many characters in all.
pub const EMBEDS_TOTAL_LIMIT: usize = 6000;

/// The sha256 of the copy of Discord's description kept in the repository
/// (`tests/discord/spec/`, see its ORIGIN.md).
pub const SPEC_SHA256: &str = "8c1d0707ccdf8e380a86dfba04058820a66435c1b69d5ed82e04dd8c0520dd73";

/// Where the spec is: `$NPQ_DISCORD_SPEC`, else the copy kept in the repository.
pub fn spec_path() -> PathBuf {
    match std::env::var_os("NPQ_DISCORD_SPEC") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/discord/spec/openapi.json"),
    }
}

/// The spec, read once per test binary. The repository keeps a copy, so a missing or altered
/// one is a failure: an unchecked run would pass for the wrong reason. Another version may be
/// named with `NPQ_DISCORD_SPEC` (its sha256 is then not checked).
pub fn shared_spec() -> Arc<Spec> {
    static SPEC: OnceLock<Arc<Spec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read Discord's OpenAPI description at {}: {e}; the fake Discord must \
                 validate request bodies (the repository keeps it in tests/discord/spec/)",
                path.display()
            )
        });
        if std::env::var_os("NPQ_DISCORD_SPEC").is_none() {
            let sha = sha256_hex(&bytes);
            assert_eq!(
                sha,
                SPEC_SHA256,
                "{} is not the copy ORIGIN.md describes; restore it, or update ORIGIN.md and \
                 SPEC_SHA256 with the new file",
                path.display()
            );
        }
        match Spec::load(&path) {
            Ok(spec) => Arc::new(spec),
            Err(error) => panic!("{error:#}"),
        }
    })
    .clone()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The request side of Discord's OpenAPI description.
pub struct Spec {
    components: Value,
    routes: Vec<Route>,
    compiled: Mutex<HashMap<(String, String), Arc<BodySchema>>>,
}

struct Route {
    template: String,
    segments: Vec<Segment>,
    /// Upper-case method -> the `application/json` request body schema.
    bodies: HashMap<String, Value>,
}

enum Segment {
    Literal(String),
    Parameter,
}

/// A compiled body schema. A union (`anyOf` of refs, as for interaction callbacks) is compiled
/// branch by branch so that a failure names the branch the body was meant for, not only "not
/// valid under any of the schemas".
enum BodySchema {
    Single(Validator),
    Union(Vec<(String, Validator)>),
}

impl Spec {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let document: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        Self::from_document(document).with_context(|| format!("reading {}", path.display()))
    }

    pub fn from_document(mut document: Value) -> anyhow::Result<Self> {
        let components = document
            .get_mut("components")
            .map(Value::take)
            .context("the spec has no \"components\"")?;
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .context("the spec has no \"paths\"")?;
        let routes = paths
            .iter()
            .map(|(template, item)| Route {
                template: template.clone(),
                segments: template
                    .trim_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Segment::Parameter
                        } else {
                            Segment::Literal(s.to_string())
                        }
                    })
                    .collect(),
                bodies: item
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(method, operation)| {
                        let schema =
                            operation.pointer("/requestBody/content/application~1json/schema")?;
                        Some((method.to_uppercase(), schema.clone()))
                    })
                    .collect(),
            })
            .collect();
        Ok(Self {
            components,
            routes,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// The path template (as written in the spec) that `route` (a path after `/api/v10`, without
    /// its query) falls under. A literal segment beats a parameter, so `.../messages/@original`
    /// finds its own template rather than `.../messages/{message_id}`.
    pub fn template_for(&self, route: &str) -> Option<&str> {
        let parts: Vec<&str> = route.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|r| r.segments.len() == parts.len())
            .filter_map(|r| {
                let mut literals = 0;
                for (segment, part) in r.segments.iter().zip(&parts) {
                    match segment {
                        Segment::Literal(l) if l == part => literals += 1,
                        Segment::Literal(_) => return None,
                        Segment::Parameter => {}
                    }
                }
                Some((literals, r))
            })
            .max_by_key(|(literals, _)| *literals)
            .map(|(_, r)| r.template.as_str())
    }

    /// Every way `body` breaks the spec (and the few limits Discord enforces that the spec leaves
    /// out), each as "METHOD /route: <error> at <instance path>". Empty when the route has no JSON
    /// body schema in the spec.
    pub fn validate(&self, method: &str, route: &str, body: &Value) -> Vec<String> {
        let method = method.to_uppercase();
        let Some(template) = self.template_for(route).map(str::to_string) else {
            return vec![];
        };
        let body = normalise_known_spec_gaps(body);
        let mut problems = match self.compiled(&method, &template) {
            Ok(Some(schema)) => schema.errors(&body),
            Ok(None) => vec![],
            Err(error) => vec![format!("cannot compile the spec's schema: {error:#}")],
        };
        problems.extend(discord_limits(&template, &body));
        problems
            .into_iter()
            .map(|p| format!("{method} {route}: {p}"))
            .collect()
    }

    fn compiled(&self, method: &str, template: &str) -> anyhow::Result<Option<Arc<BodySchema>>> {
        let key = (method.to_string(), template.to_string());
        if let Some(found) = self.compiled.lock().expect("schema cache").get(&key) {
            return Ok(Some(Arc::clone(found)));
        }
        let Some(schema) = self
            .routes
            .iter()
            .find(|r| r.template == template)
            .and_then(|r| r.bodies.get(method))
        else {
            return Ok(None);
        };
        let compiled = Arc::new(self.compile(schema)?);
        self.compiled
            .lock()
            .expect("schema cache")
            .insert(key, Arc::clone(&compiled));
        Ok(Some(compiled))
    }

    fn compile(&self, schema: &Value) -> anyhow::Result<BodySchema> {
        let branches = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
            .filter(|branches| branches.iter().all(|b| b.get("$ref").is_some()));
        match branches {
            Some(branches) => Ok(BodySchema::Union(
                branches
                    .iter()
                    .map(|branch| {
                        let name = branch["$ref"]
                            .as_str()
                            .unwrap_or_default()
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        Ok((name, self.validator(branch)?))
                    })
                    .collect::<anyhow::Result<_>>()?,
            )),
            None => Ok(BodySchema::Single(self.validator(schema)?)),
        }
    }

    /// The README's recipe: the schema with the spec's `components` beside it, so that its
    /// `#/components/...` references resolve.
    fn validator(&self, schema: &Value) -> anyhow::Result<Validator> {
        let mut root = schema.clone();
        let object = root
            .as_object_mut()
            .context("a body schema that is not an object")?;
        object.insert("components".into(), self.components.clone());
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&root)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

impl BodySchema {
    fn errors(&self, body: &Value) -> Vec<String> {
        match self {
            Self::Single(validator) => describe(validator, body),
            Self::Union(branches) => {
                let mut failures = Vec::new();
                for (name, validator) in branches {
                    let errors = describe(validator, body);
                    if errors.is_empty() {
                        return vec![];
                    }
                    // A branch whose `type` (the discriminator) does not fit was not meant.
                    let wrong_kind = errors.iter().any(|e| e.ends_with(" at /type"));
                    failures.push((wrong_kind, errors.len(), name, errors));
                }
                failures.sort_by_key(|(wrong_kind, count, _, _)| (*wrong_kind, *count));
                match failures.into_iter().next() {
                    Some((_, _, name, errors)) => errors
                        .into_iter()
                        .map(|e| format!("{e} (as {name})"))
                        .collect(),
                    None => vec![],
                }
            }
        }
    }
}

fn describe(validator: &Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .flat_map(|e| explain(&e))
        .collect()
}

/// An error as text, with "not valid under any of the schemas" replaced by the reasons of the
/// alternative the value was most likely meant to be (`data` is `null` or an object: the object).
fn explain(error: &ValidationError<'_>) -> Vec<String> {
    let context = match &error.kind {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => return vec![error_text(error)],
    };
    let here = error.instance_path.as_str();
    let type_path = format!("{here}/type");
    let meant = context
        .iter()
        .filter(|errors| !errors.is_empty())
        .min_by_key(|errors| {
            let wrong_shape = errors.iter().any(|e| {
                let at = e.instance_path.as_str();
                (at == here
                    && matches!(
                        e.kind,
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::Constant { .. }
                            | ValidationErrorKind::Enum { .. }
                    ))
                    || at == type_path
            });
            (wrong_shape, errors.len())
        });
    match meant {
        Some(errors) => errors.iter().flat_map(explain).collect(),
        None => vec![error_text(error)],
    }
}

fn error_text(error: &ValidationError<'_>) -> String {
    let mut text = error.to_string();
    let instance = error.instance.to_string();
    if instance.chars().count() > 80 {
        let head: String = instance.chars().take(40).collect();
        let shown = format!("{head}…({} characters)", instance.chars().count());
        text = text.replace(&instance, &shown);
    }
    let at = error.instance_path.as_str();
    format!("{text} at {}", if at.is_empty() { "/" } else { at })
}

/// Where the spec is stricter than Discord itself, a body is rewritten to what Discord accepts
/// before it is checked:
/// - permission bit sets are strings on the wire (serenity sends `default_member_permissions: "8"`,
///   as Discord's documentation asks) while the spec says integer;
/// - a new upload's attachment id is its index, which serenity sends as a number while the spec
///   wants a snowflake string.
fn normalise_known_spec_gaps(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    if key == "attachments" {
                        if let Some(items) = value.as_array() {
                            let items = items.iter().map(|item| {
                                let mut item = normalise_known_spec_gaps(item);
                                if let Some(index) = item.get("id").and_then(Value::as_u64) {
                                    item["id"] = json!(index.to_string());
                                }
                                item
                            });
                            return (key.clone(), Value::Array(items.collect()));
                        }
                    }
                    let permission_text = matches!(
                        key.as_str(),
                        "default_member_permissions" | "permissions" | "allow" | "deny"
                    ) && value
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
                    let value = match value.as_str().and_then(|s| s.parse::<u64>().ok()) {
                        Some(number) if permission_text => json!(number),
                        _ => normalise_known_spec_gaps(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise_known_spec_gaps).collect()),
        other => other.clone(),
    }
}

/// Limits Discord enforces on message bodies that the spec does not express.
fn discord_limits(template: &str, body: &Value) -> Vec<String> {
    let message_body = match template {
        "/channels/{channel_id}/messages" | "/channels/{channel_id}/messages/{message_id}" => {
            Some(body)
        }
        "/interactions/{interaction_id}/{interaction_token}/callback" => body.get("data"),
        t if t.starts_with("/webhooks/") => Some(body),
        _ => None,
    };
    let Some(message) = message_body.filter(|m| m.is_object()) else {
        return vec![];
    };
    let mut problems = Vec::new();
    // Elsewhere the spec itself says 2000.
    let spec_allows_more = template.starts_with("/channels/");
    if let Some(content) = message.get("content").and_then(Value::as_str) {
        let length = content.chars().count();
        if spec_allows_more && length > BOT_CONTENT_LIMIT {
            problems.push(format!(
                "content is longer than {BOT_CONTENT_LIMIT} characters ({length}), Discord's limit \
                 for a bot's message at /content"
            ));
        }
    }
    let at = if template.starts_with("/interactions/") {
        "/data/embeds"
    } else {
        "/embeds"
    };
    let embed_text: usize = message
        .get("embeds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(embed_characters)
        .sum();
    if embed_text > EMBEDS_TOTAL_LIMIT {
        problems.push(format!(
            "embeds hold {embed_text} characters in all, more than Discord's {EMBEDS_TOTAL_LIMIT} at {at}"
        ));
    }
    problems
}

/// Characters Discord counts towards an embed's total: title, description, field names and
/// values, footer text and author name.
fn embed_characters(embed: &Value) -> usize {
    let text = |pointer: &str| {
        embed
            .pointer(pointer)
            .and_then(Value::as_str)
            .map_or(0, |s| s.chars().count())
    };
    let fields: usize = embed
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| {
            ["name", "value"]
                .iter()
                .filter_map(|k| f.get(k).and_then(Value::as_str))
                .map(|s| s.chars().count())
                .sum::<usize>()
        })
        .sum();
    text("/title") + text("/description") + text("/footer/text") + text("/author/name") + fields
}
