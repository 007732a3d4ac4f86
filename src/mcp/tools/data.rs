//! Your data and what it overlaps: import_csv, upload_partner_csv, list_populations,
//! create_population, get_overlaps.

use super::{default_limit, opt_text};
use crate::engine::{ImportReport, ImportSpec, NewPopulation, OverlapCell, PopulationSummary};
use crate::mcp::PartnermapServer;
use crate::mcp::render::{self, Name, Supplied, clean};
use crate::model::PopulationType;
use crate::shape::Page;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

// ---------- outputs ----------
//
// import_csv and upload_partner_csv answer with the engine's ImportReport, get_overlaps with
// its OverlapCells; the lists below are what a page of them says beside the rows.

/// list_populations: whose populations these are, and the page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PopulationList {
    /// Whose populations these are: your organization's name (a partner's is partner_supplied.owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The partner whose populations these are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<i64>,
    pub populations: Vec<PopulationSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_supplied: Option<OwnerText>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct OwnerText {
    pub owner: Supplied,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatePopulationOut {
    pub population: PopulationSummary,
}

/// get_overlaps: the partner, and a page of its matrix.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OverlapList {
    pub partner_id: i64,
    /// One cell per (your population, partner population you can see).
    pub cells: Vec<OverlapCell>,
    /// {name}: the partner's name.
    pub partner_supplied: Name,
}

// ---------- inputs ----------

fn default_name_column() -> String {
    "name".into()
}
fn default_website_column() -> String {
    "website".into()
}
fn default_pop_type() -> String {
    "custom".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ImportCsvIn {
    /// The CSV file's full path; it must be inside a folder partnermap may use (the client's roots, PARTNERMAP_FILES, else Downloads).
    pub path: String,
    /// The data source's name; importing again under the same name replaces its rows.
    pub name: String,
    /// The header of the company-name column (case-insensitive).
    #[serde(default = "default_name_column")]
    pub name_column: String,
    /// The header of the website column (case-insensitive).
    #[serde(default = "default_website_column")]
    pub website_column: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UploadPartnerCsvIn {
    /// The offline partner the file belongs to (id or name).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// The CSV file's full path; it must be inside a folder partnermap may use (the client's roots, PARTNERMAP_FILES, else Downloads).
    pub path: String,
    /// The data source's name; uploading again under the same name replaces its rows.
    pub name: String,
    /// The header of the company-name column (case-insensitive).
    #[serde(default = "default_name_column")]
    pub name_column: String,
    /// The header of the website column (case-insensitive).
    #[serde(default = "default_website_column")]
    pub website_column: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListPopulationsIn {
    /// A partner (id, name or domain) to list the populations it lets you see; empty for yours.
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// The `next_cursor` of the previous page; empty for the first page.
    #[serde(default)]
    pub cursor: String,
    /// Page size (1-200, default 50).
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1))]
    pub limit: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreatePopulationIn {
    /// The population's name (unique within its organization).
    pub name: String,
    /// prospects, customers, open_opportunities or custom (custom populations count against the plan's allowance).
    #[serde(rename = "type", default = "default_pop_type")]
    pub pop_type: String,
    /// The data source (id or name); may be left empty when there is only one.
    #[serde(default)]
    pub data_source: String,
    /// Conditions every record must meet, each an object {"field": "...", "op": "...", "value": ...}; op is eq (default), ne, in (value a list), contains, gt, gte, lt, lte or is_empty; a field is a CSV header, case-insensitive. {"or": [..]} groups alternatives. Empty: every record of the data source.
    #[serde(default)]
    pub filters: Vec<serde_json::Map<String, serde_json::Value>>,
    /// An offline partner (id or name) to define the population on its uploaded data (standard types only); empty for your own.
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub partner: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetOverlapsIn {
    /// The partner (id, name or domain).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// The `next_cursor` of the previous page; empty for the first page.
    #[serde(default)]
    pub cursor: String,
    /// Page size (1-200, default 50).
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1))]
    pub limit: usize,
}

// ---------- tools ----------

#[tool_router(router = data_router, vis = "pub(crate)")]
impl PartnermapServer {
    #[tool(
        description = "Imports a CSV file of companies (accounts) as one of your organization's data sources: a company-name column and a website column are required, every other column is kept as a field usable in population filters. Re-importing under the same name replaces that source's rows and refreshes its populations. Reports rejected rows with the reason. Needs admin or manage_data_sources. Next: create_population on the new data source.",
        annotations(
            title = "Import CSV",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn import_csv(
        &self,
        Parameters(args): Parameters<ImportCsvIn>,
    ) -> Result<Json<ImportReport>, String> {
        let spec = ImportSpec {
            path: self.files().check_read(&args.path)?,
            name: args.name,
            name_column: args.name_column,
            website_column: args.website_column,
        };
        Ok(Json(
            self.call(move |e, a| e.import_csv(a, &spec, None)).await?,
        ))
    }

    #[tool(
        description = "Uploads a CSV file of companies for an offline partner you manage (see add_offline_partner), as the partner's data source; same columns and rules as import_csv. Online partners upload their own data. Needs admin or manage_data_sources. Next: create_population with `partner` (type customers, prospects or open_opportunities), then get_overlaps.",
        annotations(
            title = "Upload partner CSV",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn upload_partner_csv(
        &self,
        Parameters(args): Parameters<UploadPartnerCsvIn>,
    ) -> Result<Json<ImportReport>, String> {
        let partner = args.partner;
        let spec = ImportSpec {
            path: self.files().check_read(&args.path)?,
            name: args.name,
            name_column: args.name_column,
            website_column: args.website_column,
        };
        Ok(Json(
            self.call(move |e, a| e.import_csv(a, &spec, Some(&partner)))
                .await?,
        ))
    }

    #[tool(
        description = "Lists populations (named sets of accounts such as Customers or Prospects) with id, type and record count: yours, or, with `partner`, the ones that partner lets you see with the sharing level of each. Use the ids/names with get_overlaps and create_population. Pages with `cursor`/`next_cursor`.",
        annotations(
            title = "List populations",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn list_populations(
        &self,
        Parameters(args): Parameters<ListPopulationsIn>,
    ) -> Result<Json<Page<PopulationList>>, String> {
        let partner = opt_text(args.partner);
        let scope = format!("list_populations|{}", partner.as_deref().unwrap_or(""));
        let (owner, partner_id, pops) = self
            .read(move |e, a| {
                let pops = e.list_populations(a, partner.as_deref())?;
                let (owner, id) = match partner.as_deref() {
                    None => (a.org.name.clone(), None),
                    Some(p) => {
                        let o = e.resolve_partner(a, p)?.org;
                        (o.name, Some(o.id))
                    }
                };
                Ok((owner, id, pops))
            })
            .await?;
        let total = pops.len();
        render::limit_in(args.limit, render::MAX_PAGE)?;
        let (page, next_cursor) = render::page(pops, &scope, &args.cursor, args.limit)?;
        let theirs = partner_id.is_some();
        Ok(Json(Page {
            list: PopulationList {
                owner: (!theirs).then(|| clean(&owner)),
                partner_id,
                populations: page,
                partner_supplied: theirs.then(|| OwnerText {
                    owner: Supplied::new(owner),
                }),
            },
            total,
            next_cursor,
        }))
    }

    #[tool(
        description = "Creates a population on one of your data sources (or, with `partner`, on an offline partner's): a standard one (customers, prospects, open_opportunities) or a custom one, defined by filters over record fields. Its records are matched at once. Needs admin or manage_data_sources; custom populations are limited by plan. Next: get_overlaps with a partner.",
        annotations(
            title = "Create population",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn create_population(
        &self,
        Parameters(args): Parameters<CreatePopulationIn>,
    ) -> Result<Json<CreatePopulationOut>, String> {
        let pop_type: PopulationType = args.pop_type.parse().map_err(render::error)?;
        let spec = NewPopulation {
            name: args.name,
            pop_type,
            data_source: opt_text(args.data_source),
            filters: serde_json::Value::Array(
                args.filters
                    .into_iter()
                    .map(serde_json::Value::Object)
                    .collect(),
            ),
            partner: opt_text(args.partner),
        };
        let p = self.call(move |e, a| e.create_population(a, &spec)).await?;
        Ok(Json(CreatePopulationOut { population: p }))
    }

    #[tool(
        description = "The overlap matrix with one partner: for each of your populations and each of the partner's populations you may see, how many of your accounts the partner also has. Answers 'how many of my prospects are Acme's customers?'. Exists only for an active partnership (or an offline partner you manage); populations the partner hides from you are left out. Pages with `cursor`/`next_cursor`.",
        annotations(title = "Get overlaps", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_overlaps(
        &self,
        Parameters(args): Parameters<GetOverlapsIn>,
    ) -> Result<Json<Page<OverlapList>>, String> {
        let partner = args.partner;
        let (name, id, cells) = self
            .read(move |e, a| {
                let p = e.resolve_partner(a, &partner)?;
                let cells = e.overlaps(a, &partner)?;
                Ok((p.org.name, p.org.id, cells))
            })
            .await?;
        let total = cells.len();
        let scope = format!("get_overlaps|{id}");
        render::limit_in(args.limit, render::MAX_PAGE)?;
        let (page, next_cursor) = render::page(cells, &scope, &args.cursor, args.limit)?;
        Ok(Json(Page {
            list: OverlapList {
                partner_id: id,
                cells: page,
                partner_supplied: Name::of(&name),
            },
            total,
            next_cursor,
        }))
    }
}
