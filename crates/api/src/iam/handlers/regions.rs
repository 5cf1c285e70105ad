//! Regions: the one region this server serves (docs/api-coverage.md → IAM).

use super::{json, links, Result};
use crate::common::extract::PathParams;
use crate::iam::dto::*;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_service::identity::regions::Region;

fn region_view(state: &AppState, r: Region) -> RegionView {
    RegionView {
        links: SelfLink {
            self_: state.link(&format!("/v3/regions/{}", r.id)),
        },
        locales: RegionLocales {
            zh_cn: r.id.clone(),
            en_us: r.id.clone(),
        },
        id: r.id,
        kind: r.kind.into(),
        description: String::new(),
        parent_region_id: None,
    }
}

/// `GET /v3/regions` (KeystoneListRegions).
pub async fn keystone_list_regions(State(state): State<AppState>) -> Result<Response> {
    let regions = state.services.identity.regions();
    json(
        StatusCode::OK,
        &RegionList {
            links: links(&state, "/v3/regions"),
            regions: regions
                .into_iter()
                .map(|r| region_view(&state, r))
                .collect(),
        },
    )
}

/// `GET /v3/regions/{region_id}` (KeystoneShowRegion): 404 for another region.
pub async fn keystone_show_region(
    State(state): State<AppState>,
    PathParams(region_id): PathParams<String>,
) -> Result<Response> {
    let region = state.services.identity.region(&region_id)?;
    json(
        StatusCode::OK,
        &RegionResponse {
            region: region_view(&state, region),
        },
    )
}
