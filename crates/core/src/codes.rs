//! Error codes as data: each API family declares its codes once, as a table of rows (the
//! envelope, HTTP status, vendor code, English message and the Chinese one where the vendor
//! has one) with [`error_codes!`]. The rows drive the rendering (`plugboard_api` writes each
//! envelope once, from a row and a detail) and are checked against `docs/error-codes.md` by
//! a test in `plugboard_api`.

/// How a row is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `{"error_code", "error_msg", "request_id"}`: the API gateway, every Huawei family.
    Gateway,
    /// `{"error_code", "error_msg"}`: GaussDB, ServiceStage, plugboard's admin API.
    Flat,
    /// `{"error": {"error_code", "error_msg"}}`: DBSS.
    Nested,
    /// `{"error": {"code", "title", "message"}}`: IAM's Keystone APIs; the row's `code` is
    /// the title (the status's reason phrase).
    Keystone,
    /// `{"error": {"code", "description", "details"}}`: ZStack; the message is the
    /// description and the detail goes to `details` (HTTP 503 over REST, inside `result` over
    /// RPC).
    ZStack,
    /// A plain-text body (ZStack's REST layer); the row's `code` is empty.
    Text,
}

/// One error a family answers with.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub envelope: Envelope,
    /// The HTTP status.
    pub status: u16,
    /// The vendor's code (`DBS.200001`), the Keystone title, or empty for plain text.
    pub code: &'static str,
    /// The English message; `{}` marks where the detail goes (a field, an id, a reason).
    pub en: &'static str,
    /// The Chinese message (`X-Language: zh-cn`), where the vendor has one; `{}` as in `en`.
    pub zh: Option<&'static str>,
}

impl Code {
    /// The message with `detail` in its `{}`, in Chinese when `chinese` and the row has it.
    pub fn message(&self, detail: &str, chinese: bool) -> String {
        let template = match (chinese, self.zh) {
            (true, Some(zh)) => zh,
            _ => self.en,
        };
        template.replacen("{}", detail, 1)
    }
}

/// Declare a family's table: one `static` per row and `static $table: &[&Code]` listing them.
///
/// ```
/// plugboard_core::error_codes! {
///     /// Example codes.
///     pub static EXAMPLE in Flat;
///     /// A parameter is wrong.
///     INVALID = 400 "EX.0001" "Parameter error. {}" / "参数错误。{}";
///     NOT_FOUND = 404 "EX.0002" "Not found.";
/// }
/// assert_eq!(EXAMPLE.len(), 2);
/// assert_eq!(INVALID.message("name", true), "参数错误。name");
/// assert_eq!(NOT_FOUND.message("", true), "Not found.");
/// ```
#[macro_export]
macro_rules! error_codes {
    (
        $(#[$table_meta:meta])* $vis:vis static $table:ident in $envelope:ident;
        $( $(#[$meta:meta])* $name:ident = $status:literal $code:literal $en:literal
           $( / $zh:literal )? ; )*
    ) => {
        $(
            $(#[$meta])*
            $vis static $name: $crate::codes::Code = $crate::codes::Code {
                envelope: $crate::codes::Envelope::$envelope,
                status: $status,
                code: $code,
                en: $en,
                zh: $crate::error_codes!(@zh $($zh)?),
            };
        )*
        $(#[$table_meta])*
        $vis static $table: &[&$crate::codes::Code] = &[$(&$name),*];
    };
    (@zh) => { None };
    (@zh $zh:literal) => { Some($zh) };
}
