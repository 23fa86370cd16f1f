use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::reports;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct Report {
    pub id: Uuid,
    pub reporter_id: Uuid,
    pub reported_user_id: Option<Uuid>,
    pub message_id: Option<i64>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = reports)]
pub struct NewReport<'a> {
    pub id: Uuid,
    pub reporter_id: Uuid,
    pub reported_user_id: Option<Uuid>,
    pub message_id: Option<i64>,
    pub reason: &'a str,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewReport<'_>) -> QueryResult<Report> {
    diesel::insert_into(reports::table)
        .values(new)
        .returning(Report::as_returning())
        .get_result(conn)
        .await
}
