//! The backend's listings and lookups by metadata value (R7.2).

use super::*;

impl Backend<'_> {
    /// Lists records of kind `R` that `filter` selects, one page in the order the request asks
    /// (by id unless asked; R7.5).
    pub async fn list<R: Resource>(
        &self,
        filter: Filter,
        page: PageRequest,
    ) -> Result<Page<R>, Error> {
        let op = Op::start(self.service, "list", Surface::Backend, R::KIND, "");
        observed(
            op,
            async {
                let query = ListQuery::new(R::KIND, filter, page.limit)
                    .ordered(page.order)
                    .after(page.after)
                    .skip(page.offset);
                query.validate()?;
                let page = self
                    .service
                    .store
                    .list(&query)
                    .await
                    .map_err(|e| e.into_error(None))?;
                let mut items = Vec::with_capacity(page.items.len());
                for record in page.items {
                    let key = record.key();
                    items.push(
                        R::from_record(record)
                            .ok_or_else(|| ServiceError::WrongKind { key }.into_error())?,
                    );
                }
                Ok(Page {
                    items,
                    next: page.next,
                })
            },
            |_| None,
        )
        .await
    }

    /// How many records of kind `R` `filter` selects (R7.5), counted by the store without
    /// reading them where it can.
    pub async fn count<R: Resource>(&self, filter: Filter) -> Result<u64, Error> {
        let op = Op::start(self.service, "count", Surface::Backend, R::KIND, "");
        observed(
            op,
            async {
                ListQuery::new(R::KIND, filter.clone(), 1).validate()?;
                self.service
                    .store
                    .count(R::KIND, &filter)
                    .await
                    .map_err(|e| e.into_error(None))
            },
            |_| None,
        )
        .await
    }

    /// Finds records of kind `R` whose `tier` holds `value` at `path` (R7.2), for example users
    /// whose public metadata has `role` equal to `"admin"`.
    pub async fn find<R: Resource>(
        &self,
        tier: Tier,
        path: &str,
        value: impl Into<LookupValue>,
        page: PageRequest,
    ) -> Result<Page<R>, Error> {
        let path = MetadataPath::parse(path)?;
        self.list(
            Filter::MetadataEquals {
                tier,
                path,
                value: value.into(),
            },
            page,
        )
        .await
    }

    /// Finds users by a metadata value (R7.2).
    pub async fn find_users(
        &self,
        tier: Tier,
        path: &str,
        value: impl Into<LookupValue>,
        page: PageRequest,
    ) -> Result<Page<User>, Error> {
        self.find(tier, path, value, page).await
    }

    /// The memberships of an organization.
    pub async fn memberships_of_organization(
        &self,
        organization: &OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Membership>, Error> {
        self.list(
            Filter::MembershipsOfOrganization(organization.clone()),
            page,
        )
        .await
    }

    /// The memberships of a user.
    pub async fn memberships_of_user(
        &self,
        user: &UserId,
        page: PageRequest,
    ) -> Result<Page<Membership>, Error> {
        self.list(Filter::MembershipsOfUser(user.clone()), page)
            .await
    }

    /// The invitations of an organization.
    pub async fn invitations_of_organization(
        &self,
        organization: &OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Invitation>, Error> {
        self.list(
            Filter::InvitationsOfOrganization(organization.clone()),
            page,
        )
        .await
    }

    /// Every stored record whose tiers do not match a declared schema (R13.1), each with its
    /// first mismatch, in kind and id order: what a host reviews after declaring a schema over
    /// existing records. Reads the kinds that have a schema, a page of 1,000 at a time.
    pub async fn schema_mismatches(&self) -> Result<Vec<(RecordKey, Error)>, Error> {
        self.schema_mismatches_with(|_| {}).await
    }

    /// [`Backend::schema_mismatches`], calling `progress` with how many records were read so far
    /// after each page.
    pub async fn schema_mismatches_with(
        &self,
        mut progress: impl FnMut(u64),
    ) -> Result<Vec<(RecordKey, Error)>, Error> {
        let schemas = &self.service.schemas;
        let mut found = Vec::new();
        let mut read = 0u64;
        for kind in ResourceKind::ALL {
            if Tier::ALL.iter().all(|t| schemas.get(kind, *t).is_none()) {
                continue;
            }
            let mut after = None;
            loop {
                let query = ListQuery::new(kind, Filter::All, 1000).after(after);
                let page = self
                    .service
                    .store
                    .list(&query)
                    .await
                    .map_err(|e| e.into_error(None))?;
                read += page.items.len() as u64;
                found.extend(schemas.scan(&page.items));
                progress(read);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(found)
    }

    /// Any record, whole.
    pub async fn get_record(&self, key: &RecordKey) -> Result<Option<Record>, Error> {
        self.service
            .store
            .get(key)
            .await
            .map_err(|e| e.into_error(None))
    }
}
