use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{contact_requests, contacts, users};
use crate::models::user::User;

pub const PENDING: &str = "pending";
pub const ACCEPTED: &str = "accepted";
pub const DECLINED: &str = "declined";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contact_requests)]
pub struct ContactRequest {
    pub id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = contact_requests)]
pub struct NewContactRequest {
    pub id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
}

/// Inserts a request; `None` when an open one between the two appeared meanwhile (the unique
/// index `contact_requests_open` allows one).
pub async fn insert_request(
    conn: &mut AsyncPgConnection,
    new: &NewContactRequest,
) -> QueryResult<Option<ContactRequest>> {
    diesel::insert_into(contact_requests::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(ContactRequest::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Serialises `user`'s requests until the transaction ends, so that the daily allowance is
/// counted exactly.
pub async fn lock_sender(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('contact requests ' || $1::text, 0))",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .execute(conn)
    .await
    .map(drop)
}

/// The open request between `a` and `b`, whichever of them sent it.
pub async fn open_between(
    conn: &mut AsyncPgConnection,
    a: Uuid,
    b: Uuid,
) -> QueryResult<Option<ContactRequest>> {
    contact_requests::table
        .filter(contact_requests::status.eq(PENDING))
        .filter(
            (contact_requests::from_user_id
                .eq(a)
                .and(contact_requests::to_user_id.eq(b)))
            .or(contact_requests::from_user_id
                .eq(b)
                .and(contact_requests::to_user_id.eq(a))),
        )
        .select(ContactRequest::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many requests `user` sent since `since`, and when the oldest of them was.
pub async fn sent_since(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
    use diesel::dsl::{count_star, min};
    contact_requests::table
        .filter(contact_requests::from_user_id.eq(user))
        .filter(contact_requests::created_at.gt(since))
        .select((count_star(), min(contact_requests::created_at)))
        .get_result(conn)
        .await
}

/// `user`'s pending requests, received (`incoming`) or sent, oldest first.
pub async fn pending(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    incoming: bool,
    limit: i64,
) -> QueryResult<Vec<ContactRequest>> {
    let query = contact_requests::table
        .filter(contact_requests::status.eq(PENDING))
        .into_boxed();
    let query = if incoming {
        query.filter(contact_requests::to_user_id.eq(user))
    } else {
        query.filter(contact_requests::from_user_id.eq(user))
    };
    query
        .order((contact_requests::created_at, contact_requests::id))
        .limit(limit)
        .select(ContactRequest::as_select())
        .load(conn)
        .await
}

/// The request `id`, locked until the transaction ends.
pub async fn lock_request(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<ContactRequest>> {
    contact_requests::table
        .find(id)
        .for_update()
        .select(ContactRequest::as_select())
        .first(conn)
        .await
        .optional()
}

/// Answers a pending request.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
) -> QueryResult<ContactRequest> {
    diesel::update(contact_requests::table.find(id))
        .set((
            contact_requests::status.eq(status),
            contact_requests::answered_at.eq(diesel::dsl::now),
        ))
        .returning(ContactRequest::as_returning())
        .get_result(conn)
        .await
}

/// Makes `a` and `b` each other's contacts.
pub async fn connect(conn: &mut AsyncPgConnection, a: Uuid, b: Uuid) -> QueryResult<usize> {
    diesel::insert_into(contacts::table)
        .values(&vec![
            (contacts::user_id.eq(a), contacts::contact_id.eq(b)),
            (contacts::user_id.eq(b), contacts::contact_id.eq(a)),
        ])
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

/// Ends the contact between `a` and `b`; how many rows went (0 when they were not contacts).
pub async fn disconnect(conn: &mut AsyncPgConnection, a: Uuid, b: Uuid) -> QueryResult<usize> {
    diesel::delete(
        contacts::table.filter(
            (contacts::user_id.eq(a).and(contacts::contact_id.eq(b)))
                .or(contacts::user_id.eq(b).and(contacts::contact_id.eq(a))),
        ),
    )
    .execute(conn)
    .await
}

pub async fn are_contacts(conn: &mut AsyncPgConnection, a: Uuid, b: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(contacts::table.find((a, b))))
        .get_result(conn)
        .await
}

/// `user`'s contacts, by username.
pub async fn of_user(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    limit: i64,
) -> QueryResult<Vec<User>> {
    contacts::table
        .inner_join(users::table.on(users::id.eq(contacts::contact_id)))
        .filter(contacts::user_id.eq(user))
        .order((users::username, users::id))
        .limit(limit)
        .select(User::as_select())
        .load(conn)
        .await
}

pub async fn count_of(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<i64> {
    contacts::table
        .filter(contacts::user_id.eq(user))
        .count()
        .get_result(conn)
        .await
}

/// Whether any of `users` takes conversations from their contacts only and does not count
/// `actor` among them: `actor` may then not put them in a group (PROTOCOL.md v1.2 §14).
pub async fn any_closed_to(
    conn: &mut AsyncPgConnection,
    users: &[Uuid],
    actor: Uuid,
) -> QueryResult<bool> {
    use diesel::dsl::{exists, not};
    diesel::select(exists(
        users::table
            .filter(users::id.eq_any(users))
            .filter(users::dm_from_contacts_only)
            .filter(not(exists(
                contacts::table
                    .filter(contacts::user_id.eq(users::id))
                    .filter(contacts::contact_id.eq(actor)),
            ))),
    ))
    .get_result(conn)
    .await
}
