//! Changing a user (UpdateUser: name, e-mail, description, password, enabled; docs/api-coverage.md
//! → IAM) and the groups a user belongs to (KeystoneListGroupsForUser).

use super::{hash, rules, store, Error, IdentityService, Result};
use plugboard_store::identity::{Group, User};
use plugboard_store::identity_users::UserChange;

/// The longest description or e-mail address a user may have, in characters (Huawei's limit).
pub const MAX_TEXT: usize = 255;

/// What UpdateUser changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub password: Option<String>,
    pub enabled: Option<bool>,
}

/// `value` when it is at most [`MAX_TEXT`] characters, else a 400 naming `field`.
fn bounded(field: &str, value: String) -> Result<String> {
    if value.chars().count() > MAX_TEXT {
        return Err(Error::Invalid(format!(
            "{field} must be at most {MAX_TEXT} characters."
        )));
    }
    Ok(value)
}

impl IdentityService {
    /// Change a user: its name (unique in the domain), e-mail, description, password or
    /// enabled flag, in one write. A new password or an enabled value ends the user's tokens at
    /// once; the domain owner cannot be disabled.
    pub async fn update_user(&self, user: &User, u: UserUpdate) -> Result<User> {
        if user.is_owner && u.enabled == Some(false) {
            return Err(Error::Refused(
                "The domain owner cannot be disabled.".into(),
            ));
        }
        let name = u.name.map(|n| rules::name("user.name", &n)).transpose()?;
        let email = u
            .email
            .map(|e| {
                let e = bounded("user.email", e)?;
                if !e.is_empty() && e.split('@').filter(|p| !p.is_empty()).count() != 2 {
                    return Err(Error::Invalid(
                        "user.email must be an e-mail address (name@domain).".into(),
                    ));
                }
                Ok(e)
            })
            .transpose()?;
        let description = u
            .description
            .map(|d| bounded("user.description", d))
            .transpose()?;
        let password_hash = match u.password {
            Some(p) => {
                rules::password(&p)?;
                Some(hash(p).await?)
            }
            None => None,
        };
        let change = UserChange {
            name,
            email,
            description,
            password_hash,
            enabled: u.enabled,
        };
        self.store
            .update_user(&user.id, &change)
            .await
            .map_err(store("user"))?;
        self.auth.invalidate();
        Ok(self.store.get_user(&user.id).await?)
    }

    /// The groups `user` belongs to, by name.
    pub async fn groups_of_user(&self, user: &User) -> Result<Vec<Group>> {
        Ok(self.store.groups_of_user(&user.id).await?)
    }
}
