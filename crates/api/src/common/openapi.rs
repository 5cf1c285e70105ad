//! What `/openapi.json` says of one operation beyond its method, path and access: its query and
//! header parameters, its request body and its answers. Each family's `routes.rs` lists one
//! [`OpDoc`] per operation (`docs()`), built from the family's wire types (`dto.rs`, derived
//! `ToSchema` / `IntoParams`), so the document is generated from the types the handlers use.
//! The error answers every operation can give (the gateway's 401/403/413, the family's 400 and
//! 500) are added by `system::openapi_document` from the operation's family and access; an
//! `OpDoc` names only the statuses its handler adds (404, 409, ...).

use axum::http::StatusCode;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{IntoParams, ToSchema};

/// Named schemas an operation refers to (`#/components/schemas/<name>`).
pub type Components = Vec<(String, RefOr<Schema>)>;

/// A response body: its media type and schema.
#[derive(Clone)]
pub struct Body {
    pub content_type: &'static str,
    pub schema: RefOr<Schema>,
}

/// One documented answer: a status and its body (`None`: no body).
#[derive(Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub description: &'static str,
    pub body: Option<Body>,
}

/// The OpenAPI description of one operation (see the module docs).
#[derive(Clone, Default)]
pub struct OpDoc {
    /// Query and header parameters (path parameters come from the route's path).
    pub parameters: Vec<Parameter>,
    /// The JSON request body's schema.
    pub request_body: Option<RefOr<Schema>>,
    /// The success answer first, then any other answer with a body of its own (`/readyz` 503).
    pub answers: Vec<Answer>,
    /// Error statuses the handler adds to the common ones, each in the family's envelope.
    pub errors: Vec<StatusCode>,
    /// Error statuses answered in plain text (ZStack's REST-layer refusals), beside any
    /// envelope the same status may also come in.
    pub text_errors: Vec<StatusCode>,
    /// Headers of the success answer: (name, description).
    pub response_headers: Vec<(&'static str, &'static str)>,
    /// Every named schema the above refer to.
    pub components: Components,
}

/// The media type of JSON bodies (plugboard sends `application/json;charset=UTF-8`).
pub const JSON: &str = "application/json";

/// A reference to `T`'s schema, registering `T` and everything it refers to.
pub fn named<T: ToSchema>(components: &mut Components) -> RefOr<Schema> {
    components.push((T::name().into_owned(), T::schema()));
    T::schemas(components);
    Ref::from_schema_name(T::name()).into()
}

impl OpDoc {
    pub fn new() -> Self {
        Self::default()
    }

    /// The query parameters of `T` (its fields, as serde names them). An absent parameter is
    /// `None`; a present one is never null, so `Option<String>` is a plain optional string.
    pub fn query<T: IntoParams>(mut self) -> Self {
        let mut params = T::into_params(|| Some(ParameterIn::Query));
        for p in &mut params {
            if let Some(RefOr::T(Schema::Object(o))) = &mut p.schema {
                if let SchemaType::Array(types) = &o.schema_type {
                    let kept: Vec<Type> = types
                        .iter()
                        .filter(|t| **t != Type::Null)
                        .cloned()
                        .collect();
                    if let [only] = kept.as_slice() {
                        o.schema_type = SchemaType::Type(only.clone());
                    }
                }
            }
        }
        self.parameters.extend(params);
        self
    }

    /// A request header.
    pub fn header(mut self, name: &str, required: bool, description: &str) -> Self {
        self.parameters.push(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(if required {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        );
        self
    }

    /// A JSON request body of type `T`.
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.request_body = Some(named::<T>(&mut self.components));
        self
    }

    fn answer(mut self, status: StatusCode, description: &'static str, body: Option<Body>) -> Self {
        self.answers.push(Answer {
            status,
            description,
            body,
        });
        self
    }

    /// A JSON answer of type `T` (a named schema).
    pub fn json<T: ToSchema>(mut self, status: StatusCode) -> Self {
        let schema = named::<T>(&mut self.components);
        self.answer(
            status,
            "Success",
            Some(Body {
                content_type: JSON,
                schema,
            }),
        )
    }

    /// A JSON answer that is a bare array of `T`.
    pub fn json_list<T: ToSchema>(mut self, status: StatusCode) -> Self {
        let item = named::<T>(&mut self.components);
        let schema = RefOr::T(Schema::Array(utoipa::openapi::schema::Array::new(item)));
        self.answer(
            status,
            "Success: a bare JSON array",
            Some(Body {
                content_type: JSON,
                schema,
            }),
        )
    }

    /// A JSON answer with an unnamed schema (`Vec::<String>::schema()`, any object).
    pub fn json_schema(self, status: StatusCode, schema: RefOr<Schema>) -> Self {
        self.answer(
            status,
            "Success",
            Some(Body {
                content_type: JSON,
                schema,
            }),
        )
    }

    /// Another answer than the success one, with a JSON body of type `T` (`/readyz` 503).
    pub fn json_also<T: ToSchema>(mut self, status: StatusCode, description: &'static str) -> Self {
        let schema = named::<T>(&mut self.components);
        self.answer(
            status,
            description,
            Some(Body {
                content_type: JSON,
                schema,
            }),
        )
    }

    /// A plain-text answer.
    pub fn text(self, status: StatusCode) -> Self {
        self.answer(
            status,
            "Success",
            Some(Body {
                content_type: "text/plain",
                schema: ObjectBuilder::new().schema_type(Type::String).into(),
            }),
        )
    }

    /// A gzip-compressed download (`application/gzip`).
    pub fn gzip(self, status: StatusCode) -> Self {
        self.answer(
            status,
            "Success",
            Some(Body {
                content_type: "application/gzip",
                schema: ObjectBuilder::new().schema_type(Type::String).into(),
            }),
        )
    }

    /// A success answer without a body (204, or GaussDB's empty 200).
    pub fn empty(self, status: StatusCode) -> Self {
        self.answer(status, "Success, no body", None)
    }

    /// Error statuses the handler adds (404, 409, IAM's 401 at token creation and 403 for a
    /// refused change), each in the family's envelope.
    pub fn errors(mut self, statuses: &[StatusCode]) -> Self {
        self.errors.extend_from_slice(statuses);
        self
    }

    /// Error statuses also answered in plain text (the vendor's REST-layer refusals).
    pub fn text_errors(mut self, statuses: &[StatusCode]) -> Self {
        self.text_errors.extend_from_slice(statuses);
        self
    }

    /// A header of the success answer.
    pub fn response_header(mut self, name: &'static str, description: &'static str) -> Self {
        self.response_headers.push((name, description));
        self
    }

    /// The success answer.
    pub fn success(&self) -> Option<&Answer> {
        self.answers.first()
    }
}

/// The path (`user`, `auth.identity`) of the first place where `value` has an array but `T`'s
/// schema an object. serde reads a struct from an array as its fields in order
/// (`{"user": [null, true]}` as `{"user": {"password": null, "enabled": true}}`); the wire
/// says object, so such input is refused instead.
pub fn array_for_object<T: ToSchema>(value: &serde_json::Value) -> Option<String> {
    let mut components = Components::new();
    let root = named::<T>(&mut components);
    let schemas: std::collections::HashMap<String, RefOr<Schema>> =
        components.into_iter().collect();
    find_array_for_object(&root, value, &schemas, "", 0)
}

fn resolve<'a>(
    schema: &'a RefOr<Schema>,
    schemas: &'a std::collections::HashMap<String, RefOr<Schema>>,
) -> Option<&'a Schema> {
    match schema {
        RefOr::T(s) => Some(s),
        RefOr::Ref(r) => r
            .ref_location
            .strip_prefix("#/components/schemas/")
            .and_then(|name| schemas.get(name))
            .and_then(|s| match s {
                RefOr::T(s) => Some(s),
                RefOr::Ref(_) => None,
            }),
    }
}

fn is_object_type(t: &SchemaType) -> bool {
    match t {
        SchemaType::Type(t) => *t == Type::Object,
        SchemaType::Array(types) => types.contains(&Type::Object),
        SchemaType::AnyValue => false,
    }
}

fn find_array_for_object(
    schema: &RefOr<Schema>,
    value: &serde_json::Value,
    schemas: &std::collections::HashMap<String, RefOr<Schema>>,
    path: &str,
    depth: usize,
) -> Option<String> {
    use serde_json::Value;
    if depth > 32 {
        return None;
    }
    let here = || {
        if path.is_empty() {
            ".".to_string()
        } else {
            path.to_string()
        }
    };
    match (resolve(schema, schemas)?, value) {
        (Schema::Object(o), Value::Array(_)) if is_object_type(&o.schema_type) => Some(here()),
        (Schema::Object(o), Value::Object(fields)) => fields.iter().find_map(|(k, v)| {
            let inner = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            o.properties
                .get(k)
                .and_then(|p| find_array_for_object(p, v, schemas, &inner, depth + 1))
        }),
        (Schema::Array(a), Value::Array(items)) => match &a.items {
            utoipa::openapi::schema::ArrayItems::RefOrSchema(item) => {
                items.iter().enumerate().find_map(|(i, v)| {
                    find_array_for_object(item, v, schemas, &format!("{path}[{i}]"), depth + 1)
                })
            }
            _ => None,
        },
        (Schema::OneOf(one), _) => one
            .items
            .iter()
            .find_map(|s| find_array_for_object(s, value, schemas, path, depth + 1)),
        (Schema::AnyOf(any), _) => any
            .items
            .iter()
            .find_map(|s| find_array_for_object(s, value, schemas, path, depth + 1)),
        (Schema::AllOf(all), _) => all
            .items
            .iter()
            .find_map(|s| find_array_for_object(s, value, schemas, path, depth + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::dto::{CreateTokenRequest, UpdateUserRequest};
    use serde_json::json;

    #[test]
    fn arrays_in_place_of_objects_are_found_with_their_path() {
        let find = array_for_object::<UpdateUserRequest>;
        assert_eq!(
            find(&json!({"user": [null, true]})).as_deref(),
            Some("user")
        );
        assert_eq!(find(&json!([[null, true]])).as_deref(), Some("."));
        assert_eq!(find(&json!({"user": {"enabled": true}})), None);
        let token = array_for_object::<CreateTokenRequest>;
        assert_eq!(
            token(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "x", "domain": ["d"]}}}}}))
                .as_deref(),
            Some("auth.identity.password.user.domain")
        );
        assert_eq!(
            token(
                &json!({"auth": {"identity": {"methods": ["password"]}, "scope": {"project": {"id": "p"}}}})
            ),
            None
        );
    }
}
