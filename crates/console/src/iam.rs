//! The IAM section: users and groups (paged), roles, the user's own access keys (never a
//! secret after creation; a new one's secret shown once) and lockouts (unlock).

use crate::layout::{self, pager_of, Section, PER_PAGE};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::{html, Markup};
use plugboard_api::admin::routes::{LIST_LOCKOUTS, UNLOCK_USER};
use plugboard_api::iam::routes::{CREATE_CREDENTIAL, LIST_GROUPS, LIST_ROLES, LIST_USERS};
use plugboard_core::time::now_micros;
use plugboard_service::identity::Error;
use serde::Deserialize;

fn failure(e: Error) -> Response {
    match e {
        Error::Store(e) => layout::internal(&e),
        e => layout::message(StatusCode::BAD_REQUEST, "IAM refused", &e.to_string()),
    }
}

/// The page's query: one page number per long list.
#[derive(Debug, Default, Deserialize)]
pub struct IamQuery {
    pub page: Option<String>,
    pub gpage: Option<String>,
}

/// Rows `page` (zero-based) of a list held whole.
fn page_of<T>(rows: &[T], page: i64) -> &[T] {
    let from = ((page * PER_PAGE) as usize).min(rows.len());
    let to = (from + PER_PAGE as usize).min(rows.len());
    &rows[from..to]
}

async fn content(
    ctx: &Ctx,
    signed: &Signed,
    fresh: Option<(String, String)>,
    q: &IamQuery,
) -> Result<Markup, Response> {
    let (upage, gpage) = (
        layout::page_number(q.page.as_deref()),
        layout::page_number(q.gpage.as_deref()),
    );
    let s = &signed.principal.subject;
    let svc = &ctx.app.services.identity;
    let users = if signed.may(&LIST_USERS, None) {
        Some(svc.list_users(&s.domain_id, None).await.map_err(failure)?)
    } else {
        None
    };
    let groups = if signed.may(&LIST_GROUPS, None) {
        Some(svc.list_groups(&s.domain_id, None).await.map_err(failure)?)
    } else {
        None
    };
    let roles = if signed.may(&LIST_ROLES, None) {
        Some(svc.list_roles().await.map_err(failure)?)
    } else {
        None
    };
    let keys = svc
        .list_keys(&s.domain_id, &s.user_id)
        .await
        .map_err(failure)?;
    let lockouts = if signed.may(&LIST_LOCKOUTS, None) {
        Some(
            svc.lockouts(&s.domain_id, now_micros())
                .await
                .map_err(|e| layout::internal(&e))?,
        )
    } else {
        None
    };
    let may_unlock = signed.may(&UNLOCK_USER, None);
    Ok(html! {
        @if let Some((ak, sk)) = &fresh {
            div.note role="status" {
                p { "Access key " code { (ak) } " was created. Its secret is shown this once; keep it now:" }
                p { span.secret id="new-secret" { (sk) } }
            }
        }
        h2 { "Your roles" }
        ul { @for g in &s.grants { li { (g.role) } } @if s.is_owner { li { "domain owner" } } }
        h2 { "Your access keys" }
        table {
            thead { tr { th scope="col" { "Access key" } th scope="col" { "Status" } th scope="col" { "Created" } th scope="col" { "Description" } } }
            tbody {
                @for k in &keys { tr { td { code { (k.access) } } td { (k.status) } td { (layout::time(k.created_at)) } td { (k.description) } } }
                @if keys.is_empty() { tr { td colspan="4" { "No access keys." } } }
            }
        }
        @if signed.may(&CREATE_CREDENTIAL, None) {
            form method="post" action="/console/iam/keys" {
                input type="hidden" name="csrf" value=(signed.csrf);
                div.field {
                    label for="description" { "Description" }
                    input id="description" name="description" type="text" maxlength="255";
                }
                button type="submit" { "Create access key" }
            }
        }
        @if let Some(users) = &users {
            h2 { "Users" }
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Enabled" } th scope="col" { "Created" } } }
                tbody { @for u in page_of(users, upage) { tr { td { (u.name) @if u.is_owner { " (owner)" } } td { (u.id) } td { @if u.enabled { "yes" } @else { "no" } } td { (layout::time(u.created_at)) } } } }
            }
            (pager_of(&format!("/console/iam?gpage={}&", gpage + 1), "page", "Pages of users", upage, users.len() as i64))
        }
        @if let Some(groups) = &groups {
            h2 { "Groups" }
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Description" } } }
                tbody { @for g in page_of(groups, gpage) { tr { td { (g.name) } td { (g.id) } td { (g.description) } } } }
            }
            (pager_of(&format!("/console/iam?page={}&", upage + 1), "gpage", "Pages of groups", gpage, groups.len() as i64))
        }
        @if let Some(roles) = &roles {
            h2 { "Roles" }
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Display name" } th scope="col" { "Type" } } }
                tbody { @for r in roles { tr { td { (r.name) } td { (r.display_name) } td { (r.kind) } } } }
            }
        }
        @if let Some(lockouts) = &lockouts {
            h2 { "Lockouts" }
            table {
                thead { tr { th scope="col" { "Kind" } th scope="col" { "User" } th scope="col" { "Failures" } th scope="col" { "Locked until" } th scope="col" { "Actions" } } }
                tbody {
                    @for l in lockouts {
                        tr {
                            td { (l.kind.as_str()) } td { (l.user_name) } td { (l.state.failures) }
                            td { (l.state.locked_until.map(layout::time).unwrap_or_else(|| "—".into())) }
                            td {
                                @if may_unlock && l.kind == plugboard_store::lockout::LockKind::User {
                                    form.inline method="post" action={ "/console/iam/lockouts/" (l.user_id) "/unlock" } {
                                        input type="hidden" name="csrf" value=(signed.csrf);
                                        button type="submit" aria-label={ "Unlock " (l.user_name) } { "Unlock" }
                                    }
                                }
                            }
                        }
                    }
                    @if lockouts.is_empty() { tr { td colspan="5" { "Nobody is locked out." } } }
                }
            }
        }
    })
}

/// `GET /console/iam`.
pub async fn page(State(ctx): State<Ctx>, signed: Signed, Query(q): Query<IamQuery>) -> Response {
    match content(&ctx, &signed, None, &q).await {
        Ok(c) => layout::page(&signed, Section::Iam, "IAM", c),
        Err(r) => r,
    }
}

/// The key form.
#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub description: String,
}

/// `POST /console/iam/keys`: a permanent access key for the signed-in user; its secret is on
/// this answer only.
pub async fn create_key(State(ctx): State<Ctx>, signed: Signed, body: Bytes) -> Response {
    let f: KeyForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = permit(&signed, &CREATE_CREDENTIAL, None).await {
        return r;
    }
    let s = &signed.principal.subject;
    let svc = &ctx.app.services.identity;
    let user = match svc.visible_user(&s.domain_id, &s.user_id).await {
        Ok(u) => u,
        Err(e) => return failure(e),
    };
    let description = Some(f.description).filter(|d| !d.trim().is_empty());
    let (credential, secret) = match svc.create_key(&s.domain_id, &user, description).await {
        Ok(k) => k,
        Err(e) => return failure(e),
    };
    match content(
        &ctx,
        &signed,
        Some((credential.access, secret)),
        &IamQuery::default(),
    )
    .await
    {
        Ok(c) => layout::page(&signed, Section::Iam, "IAM", c),
        Err(r) => r,
    }
}

/// `POST /console/iam/lockouts/{user}/unlock`.
pub async fn unlock(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(r) = form::<Empty>(&signed, &body) {
        return r;
    }
    if let Err(r) = permit(&signed, &UNLOCK_USER, None).await {
        return r;
    }
    match ctx
        .app
        .services
        .identity
        .unlock_user(&signed.principal.subject.domain_id, &user)
        .await
    {
        Ok(()) => Redirect::to("/console/iam").into_response(),
        Err(e) => layout::internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_a_whole_list_is_its_slice_and_past_the_end_is_empty() {
        let rows: Vec<i64> = (0..120).collect();
        assert_eq!(page_of(&rows, 0).len(), 50);
        assert_eq!(page_of(&rows, 2), &rows[100..120]);
        assert!(page_of(&rows, 9).is_empty());
    }
}
