//! The chat rules' table (`confab_actors::testing::rule_cases`) against PostgreSQL, through the
//! HTTP API: the same cases the in-memory store passes.

use confab_actors::chat::Change;
use confab_actors::testing::rule_cases::{check_rules, RuleWorld};
use confab_actors::ErrorCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser};

struct Api {
    app: TestApp,
    users: usize,
    sent: usize,
}

impl Api {
    /// The code of a refused request.
    fn refused(body: &serde_json::Value) -> ErrorCode {
        let code = body["error"]["code"].as_str();
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|known| Some(known.as_str()) == code)
            .unwrap_or_else(|| panic!("no error code in {body}"))
    }

    async fn last_rev(&self, conversation: Uuid) -> i64 {
        let mut conn = self.app.state.pool.get().await.unwrap();
        confab::models::conversation::latest(&mut conn, &[conversation])
            .await
            .unwrap()
            .first()
            .map_or(0, |(_, _, rev)| *rev)
    }
}

impl RuleWorld for Api {
    type User = TestUser;
    type Conversation = Uuid;
    type Message = String;

    async fn user(&mut self) -> TestUser {
        self.users += 1;
        self.app.register(&format!("rules{}", self.users)).await
    }

    async fn group(&mut self, owner: &TestUser, members: &[&TestUser]) -> Uuid {
        self.app
            .group(owner, "rules", members)
            .await
            .parse()
            .unwrap()
    }

    async fn dm(&mut self, a: &TestUser, b: &TestUser) -> Uuid {
        self.app.dm_id(a, b).await.parse().unwrap()
    }

    async fn make_admin(&mut self, group: Uuid, user: &TestUser) {
        let mut conn = self.app.state.pool.get().await.unwrap();
        let user = user.id.parse().unwrap();
        confab::models::member::set_role(&mut conn, group, user, confab::models::member::ADMIN)
            .await
            .unwrap();
    }

    async fn block(&mut self, by: &TestUser, whom: &TestUser) {
        let res = self
            .app
            .post(&format!("/api/blocks/{}", whom.id), &by.token, json!({}))
            .await;
        assert!(res.status < 300, "{:?}", res.body);
    }

    async fn send(&mut self, conversation: Uuid, by: &TestUser) -> Result<String, ErrorCode> {
        self.sent += 1;
        let res = self
            .app
            .send(
                by,
                &conversation.to_string(),
                &format!("case-{}", self.sent),
                "hello",
            )
            .await;
        match res.status {
            201 => Ok(res.body["id"].as_str().unwrap().to_string()),
            _ => Err(Self::refused(&res.body)),
        }
    }

    async fn change(
        &mut self,
        conversation: Uuid,
        message: &String,
        by: &TestUser,
        change: Change,
    ) -> Result<bool, ErrorCode> {
        let path = format!("/api/conversations/{conversation}/messages/{message}");
        let before = self.last_rev(conversation).await;
        let token = Some(by.token.as_str());
        let res = match change {
            Change::Edit { body } => {
                let body = json!({ "body": body });
                self.app.request("PATCH", &path, token, Some(body)).await
            }
            Change::Delete => self.app.request("DELETE", &path, token, None).await,
            Change::React { emoji, add } => {
                let emoji = utf8_percent_encode(&emoji, NON_ALPHANUMERIC);
                let path = format!("{path}/reactions/{emoji}");
                let method = if add { "PUT" } else { "DELETE" };
                self.app.request(method, &path, token, None).await
            }
        };
        if res.status >= 300 {
            return Err(Self::refused(&res.body));
        }
        Ok(self.last_rev(conversation).await > before)
    }
}

#[actix_web::test]
async fn the_rule_table_holds_in_postgresql() {
    let mut api = Api {
        app: TestApp::spawn_with(|settings| {
            settings.limits.send_rate_per_sec = 1000.0;
            settings.limits.send_burst = 1000.0;
        })
        .await,
        users: 0,
        sent: 0,
    };
    check_rules(&mut api).await;
}
