//! `/v1/organizations/{org}/teams`: teams, their members and their access to each registry, for admin
//! tokens. Grants can be changed at any time after a team is created.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::access::managed_registry;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::domain::names::{Description, OrgSlug, RegistryName, RegistrySlug};
use crate::domain::team::{AccessLevel, Team};
use crate::service::teams::TeamChange;

pub fn routes(state: AppState) -> Router {
    let base = "/v1/organizations/{org}/teams";
    Router::new()
        .route(base, get(list_teams).post(create_team))
        .route(&format!("{base}/{{team}}"), get(get_team).patch(update_team).delete(delete_team))
        .route(&format!("{base}/{{team}}/members/{{login}}"), put(add_member).delete(remove_member))
        .route(&format!("{base}/{{team}}/registries/{{registry}}"), put(grant_registry).delete(revoke_registry))
        .with_state(state)
}

fn team_slug(team: &str) -> ApiResult<RegistrySlug> {
    RegistrySlug::try_from(team).map_err(|_| ApiError::not_found(format!("team {team} not found")))
}

/// A team as the API shows it, with its grants by registry slug.
async fn view(state: &AppState, org: &OrgSlug, team: &Team) -> ApiResult<Value> {
    let (registries, _) = state.registries.list(org, None, 100).await?;
    let grants: Vec<_> = team
        .grants
        .iter()
        .map(|(id, level)| {
            let slug =
                registries.iter().find(|r| r.id == *id).map_or_else(|| "(deleted)".to_owned(), |r| r.slug.to_string());
            json!({"registry": slug, "registry_id": id, "access": level})
        })
        .collect();
    Ok(json!({"slug": team.slug, "name": team.name, "description": team.description, "members": team.members,
              "registries": grants, "created_at": team.created_at}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: RegistryName,
    #[serde(default)]
    description: Option<Description>,
}

async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(new): ApiJson<NewTeam>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let org = caller.require_admin(&org)?;
    let team = state.teams.create(&caller.acting(), &org, new.name, new.description).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &org, &team).await?)))
}

async fn list_teams(State(state): State<AppState>, caller: Caller, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let mut teams = Vec::new();
    for team in state.teams.list(&org).await? {
        teams.push(view(&state, &org, &team).await?);
    }
    Ok(Json(json!({ "teams": teams })))
}

async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let (team, _) = state.teams.get(&org, &team_slug(&team)?).await?;
    Ok(Json(view(&state, &org, &team).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamPatch {
    description: Option<Description>,
}

async fn change(
    state: &AppState,
    caller: &Caller,
    org: &str,
    team: &str,
    change: TeamChange,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(org)?;
    let team = state.teams.change(&caller.acting(), &org, &team_slug(team)?, change).await?;
    Ok(Json(view(state, &org, &team).await?))
}

async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team)): Path<(String, String)>,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> ApiResult<Json<Value>> {
    change(&state, &caller, &org, &team, TeamChange::Describe(patch.description)).await
}

async fn delete_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = caller.require_admin(&org)?;
    state.teams.delete(&caller.acting(), &org, &team_slug(&team)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, login)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    change(&state, &caller, &org, &team, TeamChange::AddMember(login)).await
}

async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, login)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    change(&state, &caller, &org, &team, TeamChange::RemoveMember(login)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    access: AccessLevel,
}

async fn registry_id(state: &AppState, caller: &Caller, org: &str, registry: &str) -> ApiResult<String> {
    caller.require_admin(org)?;
    Ok(managed_registry(state, caller, org, registry, crate::domain::token::Scope::ReadRegistries).await?.id)
}

async fn grant_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, registry)): Path<(String, String, String)>,
    ApiJson(grant): ApiJson<Grant>,
) -> ApiResult<Json<Value>> {
    let registry_id = registry_id(&state, &caller, &org, &registry).await?;
    change(&state, &caller, &org, &team, TeamChange::Grant { registry_id, level: Some(grant.access) }).await
}

async fn revoke_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, registry)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let registry_id = registry_id(&state, &caller, &org, &registry).await?;
    change(&state, &caller, &org, &team, TeamChange::Grant { registry_id, level: None }).await
}
