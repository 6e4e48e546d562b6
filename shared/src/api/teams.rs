//! `/v1/organizations/{org}/teams`: teams, their members and their access to each registry, for admin
//! tokens. Grants can be changed at any time after a team is created.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::managed_registry;
use super::context::Caller;
use super::described::{BodyErrors, Conflict, Invalid, LoginPath, Org, ReadErrors, RegistryPath, TeamPath};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::domain::names::{Description, OrgSlug, RegistryName, RegistrySlug};
use crate::domain::team::{AccessLevel, Team};
use crate::ports::metadata::MAX_QUERY_LIMIT;
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
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TeamView {
    #[schema(value_type = String)]
    slug: RegistrySlug,
    #[schema(value_type = String)]
    name: RegistryName,
    #[schema(value_type = Option<String>)]
    description: Option<Description>,
    /// Member logins.
    members: Vec<String>,
    registries: Vec<TeamGrant>,
    created_at: DateTime<Utc>,
}

/// What a team may do with one registry's packages.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TeamGrant {
    /// The registry's slug, or `(deleted)`.
    registry: String,
    registry_id: String,
    access: AccessLevel,
}

/// The teams of an organization.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TeamList {
    teams: Vec<TeamView>,
}

/// The slugs of the registries `teams`' grants name, reading the organization's registries a page at a time
/// until each is found (a grant whose registry is not found outlived it).
async fn granted_slugs(state: &AppState, org: &OrgSlug, teams: &[Team]) -> ApiResult<HashMap<String, String>> {
    let granted: BTreeSet<&String> = teams.iter().flat_map(|team| team.grants.keys()).collect();
    let mut slugs = HashMap::new();
    let mut after = None;
    while granted.iter().any(|id| !slugs.contains_key(*id)) {
        let (page, next) = state.registries.list(org, after, MAX_QUERY_LIMIT).await?;
        for registry in page.into_iter().filter(|r| granted.contains(&r.id)) {
            slugs.insert(registry.id, registry.slug.to_string());
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(slugs)
}

async fn view(state: &AppState, org: &OrgSlug, team: Team) -> ApiResult<TeamView> {
    let slugs = granted_slugs(state, org, std::slice::from_ref(&team)).await?;
    Ok(shown(team, &slugs))
}

/// A team as the API shows it, its grants named by `slugs`.
fn shown(team: Team, slugs: &HashMap<String, String>) -> TeamView {
    let grants = team
        .grants
        .into_iter()
        .map(|(registry_id, access)| {
            let registry = slugs.get(&registry_id).cloned().unwrap_or_else(|| "(deleted)".to_owned());
            TeamGrant { registry, registry_id, access }
        })
        .collect();
    TeamView {
        slug: team.slug,
        name: team.name,
        description: team.description,
        members: team.members,
        registries: grants,
        created_at: team.created_at,
    }
}

/// A new team; its slug is derived from its name.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTeam {
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    name: RegistryName,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1000)]
    description: Option<Description>,
}

#[utoipa::path(post, path = "/v1/organizations/{org}/teams", tag = "teams", params(Org), request_body = NewTeam,
    responses((status = 201, description = "Created (admin only)", body = TeamView,
        links(("get" = (operation_id = "get_team", parameters(("org" = "$request.path.org"), ("team" = "$response.body#/slug")))),
            ("update" = (operation_id = "update_team", parameters(("org" = "$request.path.org"), ("team" = "$response.body#/slug")))),
            ("add_member" = (operation_id = "add_member", parameters(("org" = "$request.path.org"), ("team" = "$response.body#/slug")))),
            ("delete" = (operation_id = "delete_team", parameters(("org" = "$request.path.org"), ("team" = "$response.body#/slug")))))),
        ReadErrors, BodyErrors, Conflict))]
pub(crate) async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(new): ApiJson<NewTeam>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    let org = caller.require_admin(&org)?;
    let team = state.teams.create(&caller.acting(), &org, new.name, new.description).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &org, team).await?)))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/teams", tag = "teams", params(Org),
    responses((status = 200, description = "The organization's teams (admin only)", body = TeamList), ReadErrors))]
pub(crate) async fn list_teams(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<TeamList>> {
    let org = caller.require_admin(&org)?;
    // One pass over the registries names every team's grants.
    let teams = state.teams.list(&org).await?;
    let slugs = granted_slugs(&state, &org, &teams).await?;
    Ok(Json(TeamList { teams: teams.into_iter().map(|team| shown(team, &slugs)).collect() }))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/teams/{team}", tag = "teams", params(Org, TeamPath),
    responses((status = 200, description = "The team (admin only)", body = TeamView), ReadErrors))]
pub(crate) async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<Json<TeamView>> {
    let org = caller.require_admin(&org)?;
    let (team, _) = state.teams.get(&org, &team_slug(&team)?).await?;
    Ok(Json(view(&state, &org, team).await?))
}

/// A team's new description; `null` clears it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamPatch {
    #[schema(value_type = Option<String>, max_length = 1000)]
    description: Option<Description>,
}

async fn change(
    state: &AppState,
    caller: &Caller,
    org: &str,
    team: &str,
    change: TeamChange,
) -> ApiResult<Json<TeamView>> {
    let org = caller.require_admin(org)?;
    let team = state.teams.change(&caller.acting(), &org, &team_slug(team)?, change).await?;
    Ok(Json(view(state, &org, team).await?))
}

#[utoipa::path(patch, path = "/v1/organizations/{org}/teams/{team}", tag = "teams", params(Org, TeamPath),
    request_body = TeamPatch, responses((status = 200, description = "Changed", body = TeamView), ReadErrors,
        BodyErrors, Conflict))]
pub(crate) async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team)): Path<(String, String)>,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> ApiResult<Json<TeamView>> {
    change(&state, &caller, &org, &team, TeamChange::Describe(patch.description)).await
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/teams/{team}", tag = "teams", params(Org, TeamPath),
    responses((status = 204, description = "Deleted, with its grants: from this answer on its members have none of them (on AWS the answer waits 5 s for running functions to forget them)"), ReadErrors, Conflict))]
pub(crate) async fn delete_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = caller.require_admin(&org)?;
    state.teams.delete(&caller.acting(), &org, &team_slug(&team)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/v1/organizations/{org}/teams/{team}/members/{login}", tag = "teams",
    params(Org, TeamPath, LoginPath), responses((status = 200, description = "A member (already one or added)", body = TeamView,
        links(("remove_member" = (operation_id = "remove_member", parameters(("org" = "$request.path.org"),
            ("team" = "$request.path.team"), ("login" = "$request.path.login")))))),
        ReadErrors, Invalid, Conflict))]
pub(crate) async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, login)): Path<(String, String, String)>,
) -> ApiResult<Json<TeamView>> {
    change(&state, &caller, &org, &team, TeamChange::AddMember(login)).await
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/teams/{team}/members/{login}", tag = "teams",
    params(Org, TeamPath, LoginPath), responses((status = 200, description = "Not a member (any more): from this answer on the team's grants no longer reach the member (on AWS the answer waits 5 s for running functions to forget them)", body = TeamView),
        ReadErrors, Invalid, Conflict))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, login)): Path<(String, String, String)>,
) -> ApiResult<Json<TeamView>> {
    change(&state, &caller, &org, &team, TeamChange::RemoveMember(login)).await
}

/// The access a team gets to a registry's packages.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Grant {
    access: AccessLevel,
}

async fn registry_id(state: &AppState, caller: &Caller, org: &str, registry: &str) -> ApiResult<String> {
    caller.require_admin(org)?;
    Ok(managed_registry(state, caller, org, registry, crate::domain::token::Scope::ReadRegistries).await?.id)
}

#[utoipa::path(put, path = "/v1/organizations/{org}/teams/{team}/registries/{registry}", tag = "teams",
    params(Org, TeamPath, RegistryPath), request_body = Grant,
    responses((status = 200, description = "Granted (replacing an earlier grant to that registry; a lower one holds from this answer on: on AWS the answer then waits 5 s for running functions to forget the higher one)", body = TeamView),
        ReadErrors, BodyErrors, Conflict))]
pub(crate) async fn grant_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, registry)): Path<(String, String, String)>,
    ApiJson(grant): ApiJson<Grant>,
) -> ApiResult<Json<TeamView>> {
    let registry_id = registry_id(&state, &caller, &org, &registry).await?;
    change(&state, &caller, &org, &team, TeamChange::Grant { registry_id, level: Some(grant.access) }).await
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/teams/{team}/registries/{registry}", tag = "teams",
    params(Org, TeamPath, RegistryPath), responses((status = 200, description = "No access to that registry (any more): from this answer on (on AWS the answer waits 5 s for running functions to forget the grant)",
        body = TeamView), ReadErrors, Conflict))]
pub(crate) async fn revoke_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, team, registry)): Path<(String, String, String)>,
) -> ApiResult<Json<TeamView>> {
    let registry_id = registry_id(&state, &caller, &org, &registry).await?;
    change(&state, &caller, &org, &team, TeamChange::Grant { registry_id, level: None }).await
}
