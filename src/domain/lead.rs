//! Leads (P-1 to P-6): prospects before qualification, and the qualify,
//! disqualify and reactivate transitions.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::Kind;
use super::lines::Pricing;
use super::money::Currency;
use super::opportunity::{OppState, OppStatus, Opportunity};
use super::party::{Account, Address, Contact};
use super::rules::Step;
use super::{carry_custom, Closing, ClosingInput, Record, Refusal, Rules};

/// Where an open lead stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
}

/// A lead's state; each variant carries only what is true in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LeadState {
    Open { status: LeadStatus },
    Qualified { at: DateTime<Utc> },
    Disqualified { closing: Closing },
}

/// A prospect not yet qualified (P-1, P-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub number: u64,
    pub topic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default)]
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What the prospect needs; becomes the opportunity's desired situation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    pub owner: String,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_value: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_close: Option<NaiveDate>,
    /// "Wiedervorlage": when to look at the lead again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    /// The contact and account qualifying created or linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    /// The opportunity qualifying created; kept when the lead is reactivated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opportunity: Option<u64>,
    #[serde(flatten)]
    pub state: LeadState,
    pub created_at: DateTime<Utc>,
}

impl Record for Lead {
    const KIND: Kind = Kind::Lead;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Lead(self)
    }
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            LeadState::Open { .. } => "open",
            LeadState::Qualified { .. } => "qualified",
            LeadState::Disqualified { .. } => "disqualified",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        let who = self.person_name().or_else(|| self.company.clone());
        match who {
            Some(w) => format!("{} ({w})", self.topic),
            None => self.topic.clone(),
        }
    }
    fn watch(&self) -> Option<super::activity::Due> {
        match (&self.state, self.follow_up) {
            (LeadState::Open { .. }, Some(d)) => Some(super::activity::Due::Day(d)),
            _ => None,
        }
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([
            Some(self.topic.as_str()),
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.company.as_deref(),
            self.email.as_deref(),
            self.mobile_phone.as_deref(),
            self.business_phone.as_deref(),
            self.address.city.as_deref(),
        ])
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        use super::Part;
        // Several leads may share an e-mail, so the number is part of it.
        self.email
            .iter()
            .map(|e| super::Lookup {
                what: "lead_email",
                parts: vec![Part::Text(e.to_lowercase()), Part::Number(self.number)],
            })
            .collect()
    }
}

impl Editable for Lead {
    const HAS_ADDRESS: bool = true;
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "topic" | "subject" | "thema" => FieldType::Text,
        "first_name" | "first" | "firstname" | "vorname" => FieldType::Text,
        "last_name" | "last" | "lastname" | "nachname" | "surname" => FieldType::Text,
        "job_title" | "title" | "position" => FieldType::Text,
        "email" | "e_mail" | "mail" => FieldType::Email,
        "mobile_phone" | "mobile" | "handy" | "mobiltelefon" => FieldType::Phone,
        "business_phone" | "phone" | "telefon" | "work_phone" => FieldType::Phone,
        "company" | "company_name" | "firma" | "firmenname" | "unternehmen" => FieldType::Text,
        "website" | "web" | "url" | "webseite" => FieldType::Website,
        "description" | "desc" | "beschreibung" | "notes" => FieldType::Text,
        "source" | "lead_source" | "quelle" => FieldType::Text,
        "need" | "bedarf" => FieldType::Text,
        "owner" | "besitzer" => FieldType::Owner,
        "currency" | "währung" => FieldType::Currency,
        "budget" => FieldType::Amount,
        "value" | "estimated_value" | "est_value" => FieldType::Amount,
        "close" | "estimated_close" | "est_close" | "close_date" => FieldType::Date,
        "followup" | "follow_up" | "wiedervorlage" => FieldType::Date,
        "status" => FieldType::Choice(&["new", "contacted"]),
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "topic" => self.topic = value.required_text("a lead's topic")?,
            "first_name" => self.first_name = value.text(),
            "last_name" => self.last_name = value.text(),
            "job_title" => self.job_title = value.text(),
            "email" => self.email = value.text(),
            "mobile_phone" => self.mobile_phone = value.text(),
            "business_phone" => self.business_phone = value.text(),
            "company" => self.company = value.text(),
            "website" => self.website = value.text(),
            "description" => self.description = value.text(),
            "source" => self.source = value.text(),
            "need" => self.need = value.text(),
            "owner" => self.owner = value.required_text("the owner")?,
            "currency" => self.currency = value.currency()?,
            "budget" => self.budget = value.decimal(),
            "value" => self.estimated_value = value.decimal(),
            "close" => self.estimated_close = value.date(),
            "followup" => self.follow_up = value.date(),
            "status" => {
                let status = match value.text().as_deref() {
                    Some("contacted") => LeadStatus::Contacted,
                    _ => LeadStatus::New,
                };
                self.state = LeadState::Open { status };
            }
            f if self.address.set(f, value.clone().text()) => {}
            _ => return Err(Refusal::new(format!("leads have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

/// What the store found before qualifying: an existing contact with the
/// lead's e-mail, an existing account with its company name or website
/// domain, and the next free numbers for what qualifying may create.
#[derive(Debug, Clone)]
pub struct QualifyInput {
    pub existing_contact: Option<Contact>,
    /// The existing account and what matched it (`name` or `website`).
    pub existing_account: Option<(Account, &'static str)>,
    pub next_contact: u64,
    pub next_account: u64,
    pub next_opportunity: u64,
    /// The opportunity a reactivated lead already has.
    pub existing_opportunity: Option<Opportunity>,
}

/// What qualifying produced: every record to write, and notes for the reply.
#[derive(Debug, Clone)]
pub struct Qualification {
    pub lead: Lead,
    pub contact: Contact,
    pub contact_created: bool,
    pub account: Option<Account>,
    pub account_created: bool,
    /// `None` when a reactivated lead was qualified again into its opportunity.
    pub opportunity: Option<Opportunity>,
    pub notes: Vec<String>,
}

impl Lead {
    /// A new open lead; fields are set afterwards with [`Editable::set`].
    pub fn new(
        number: u64,
        topic: String,
        owner: String,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> Lead {
        Lead {
            number,
            topic,
            first_name: None,
            last_name: None,
            job_title: None,
            email: None,
            mobile_phone: None,
            business_phone: None,
            company: None,
            website: None,
            address: Address::default(),
            description: None,
            source: None,
            need: None,
            owner,
            currency,
            budget: None,
            estimated_value: None,
            estimated_close: None,
            follow_up: None,
            custom: CustomValues::new(),
            contact: None,
            account: None,
            opportunity: None,
            state: LeadState::Open {
                status: LeadStatus::New,
            },
            created_at: now,
        }
    }

    /// "Anna Schmidt", if any name is known.
    pub fn person_name(&self) -> Option<String> {
        let n = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!n.is_empty()).then_some(n)
    }

    /// Checks that a new or edited lead can be reached: it needs a topic and a
    /// last name, company or e-mail.
    ///
    /// Fails naming what is missing.
    pub fn check_complete(&self) -> Result<(), Refusal> {
        if self.topic.trim().is_empty() {
            return Err(Refusal::new("a lead needs a topic (topic:\"...\")"));
        }
        if self.last_name.is_none() && self.company.is_none() && self.email.is_none() {
            return Err(Refusal::new(
                "a lead needs a last name, a company or an e-mail (last:..., company:..., email:...)",
            ));
        }
        Ok(())
    }

    /// Refuses `action` unless the lead is open.
    ///
    /// Fails for qualified and disqualified leads, saying how to reopen them.
    pub fn ensure_open(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        let id = rules.show(Kind::Lead, self.number);
        match &self.state {
            LeadState::Open { .. } => Ok(()),
            LeadState::Qualified { .. } => Err(Refusal::new(format!(
                "cannot {action} {id}: it is qualified{}; reactivate it first (/lead reactivate {id})",
                self.opportunity
                    .map(|o| format!(" into {}", rules.show(Kind::Opportunity, o)))
                    .unwrap_or_default()
            ))),
            LeadState::Disqualified { closing } => Err(Refusal::new(format!(
                "cannot {action} {id}: it is disqualified ({}); reactivate it first (/lead reactivate {id})",
                closing.reason
            ))),
        }
    }

    /// Qualifies the lead (P-6): a contact, an account when a company is
    /// known (or the existing ones), an opportunity linked to all of them.
    ///
    /// Fails unless the lead is open.
    pub fn qualify(
        &self,
        input: QualifyInput,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Qualification, Refusal> {
        self.ensure_open(rules, "qualify")?;
        let mut notes = Vec::new();
        let mut lead = self.clone();

        let (account, account_created) = match (&input.existing_account, &self.company) {
            (Some((a, matched)), _) => {
                notes.push(format!(
                    "linked to existing account {} {} (same {matched})",
                    rules.show(Kind::Account, a.number),
                    a.name
                ));
                (Some(a.clone()), false)
            }
            (None, Some(company)) => (
                Some(Account {
                    number: input.next_account,
                    name: company.clone(),
                    website: self.website.clone(),
                    phone: self.business_phone.clone(),
                    address: self.address.clone(),
                    primary_contact: None,
                    description: None,
                    language: None,
                    vat_id: None,
                    leitweg_id: None,
                    reverse_charge: false,
                    owner: self.owner.clone(),
                    custom: carry_custom(rules, Kind::Account, &self.custom),
                    created_at: now,
                }),
                true,
            ),
            (None, None) => (None, false),
        };
        let account_no = account.as_ref().map(|a| a.number);

        let (mut contact, contact_created) = match &input.existing_contact {
            Some(c) => {
                notes.push(format!(
                    "linked to existing contact {} {} (same e-mail)",
                    rules.show(Kind::Contact, c.number),
                    c.full_name()
                ));
                (c.clone(), false)
            }
            None => (
                Contact {
                    number: input.next_contact,
                    first_name: self.first_name.clone(),
                    last_name: self.last_name.clone(),
                    email: self.email.clone(),
                    mobile_phone: self.mobile_phone.clone(),
                    business_phone: self.business_phone.clone(),
                    job_title: self.job_title.clone(),
                    account: None,
                    description: None,
                    owner: self.owner.clone(),
                    custom: carry_custom(rules, Kind::Contact, &self.custom),
                    created_at: now,
                },
                true,
            ),
        };
        if contact.account.is_none() {
            contact.account = account_no;
        }
        let account = account.map(|mut a| {
            if a.primary_contact.is_none() {
                a.primary_contact = Some(contact.number);
            }
            a
        });

        let opportunity = match &input.existing_opportunity {
            Some(o) => {
                notes.push(format!(
                    "qualified again into its opportunity {}",
                    rules.show(Kind::Opportunity, o.number)
                ));
                None
            }
            None => {
                let opp = Opportunity {
                    number: input.next_opportunity,
                    name: self.topic.clone(),
                    account: account_no,
                    contact: Some(contact.number),
                    lead: Some(self.number),
                    current_situation: None,
                    desired_situation: self.need.clone(),
                    proposed_solution: None,
                    description: self.description.clone(),
                    probability: None,
                    estimated_revenue: self.estimated_value,
                    budget: self.budget,
                    decision_date: self.estimated_close,
                    follow_up: self.follow_up,
                    owner: self.owner.clone(),
                    pricing: Pricing {
                        freight_tax: rules.freight_tax,
                        ..Pricing::new(self.currency.clone())
                    },
                    custom: carry_custom(rules, Kind::Opportunity, &self.custom),
                    quotes: Vec::new(),
                    state: OppState::Open {
                        status: OppStatus::InProgress,
                    },
                    created_at: now,
                };
                lead.opportunity = Some(opp.number);
                Some(opp)
            }
        };
        lead.contact = Some(contact.number);
        lead.account = account_no;
        lead.state = LeadState::Qualified { at: now };
        Ok(Qualification {
            lead,
            contact,
            contact_created,
            account,
            account_created,
            opportunity,
            notes,
        })
    }

    /// Disqualifies the lead with a configured reason (P-5).
    ///
    /// Fails unless the lead is open, while it has an opportunity, or for a
    /// reason that is not configured.
    pub fn disqualify(&self, input: &ClosingInput, rules: &Rules) -> Result<Lead, Refusal> {
        self.ensure_open(rules, "disqualify")?;
        if let Some(o) = self.opportunity {
            let opp = rules.show(Kind::Opportunity, o);
            return Err(Refusal::new(format!(
                "cannot disqualify {}: it has the opportunity {opp}; close that as lost instead (/opp lose {opp} reason:...)",
                rules.show(Kind::Lead, self.number)
            )));
        }
        let closing = input.check(rules, Step::LeadDisqualify)?;
        let mut lead = self.clone();
        lead.state = LeadState::Disqualified { closing };
        Ok(lead)
    }

    /// Reopens a qualified or disqualified lead; an opportunity it has stays
    /// linked, so qualifying it again does not make a second one.
    ///
    /// Fails when the lead is already open.
    pub fn reactivate(&self, rules: &Rules) -> Result<Lead, Refusal> {
        if let LeadState::Open { .. } = self.state {
            return Err(Refusal::new(format!(
                "{} is already open; it can be qualified or disqualified",
                rules.show(Kind::Lead, self.number)
            )));
        }
        let mut lead = self.clone();
        lead.state = LeadState::Open {
            status: LeadStatus::Contacted,
        };
        Ok(lead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::table::{chairs, check, input, Cell};

    fn now() -> DateTime<Utc> {
        "2026-11-30T09:00:00Z".parse().expect("time")
    }

    /// A row of cells, one per step.
    type Want<'a, const N: usize> = [Cell<'a>; N];

    fn qualify_input() -> QualifyInput {
        QualifyInput {
            existing_contact: None,
            existing_account: None,
            next_contact: 1001,
            next_account: 1001,
            next_opportunity: 1001,
            existing_opportunity: None,
        }
    }

    /// An open lead, a qualified one (and its opportunity), a disqualified one.
    pub(crate) fn leads() -> (Lead, Lead, Lead, Opportunity) {
        let rules = Rules::default();
        let mut open = Lead::new(
            1001,
            "Chairs".into(),
            "me".into(),
            Currency::default(),
            now(),
        );
        open.last_name = Some("Schmidt".into());
        open.company = Some("Contoso".into());
        let q = open
            .qualify(qualify_input(), &rules, now())
            .expect("qualified");
        let disqualified = open
            .disqualify(&input("lost"), &rules)
            .expect("disqualified");
        (
            open,
            q.lead,
            disqualified,
            q.opportunity.expect("an opportunity"),
        )
    }

    /// What each step does from each state (P-4 .. P-6): the new state's
    /// name, or a refusal containing the given words.
    #[test]
    fn the_lead_state_machine_as_a_table() {
        let rules = Rules::default();
        let (open, qualified, disqualified, _) = leads();
        type Step = fn(&Lead, &Rules) -> Result<String, Refusal>;
        let steps: [(&str, Step); 4] = [
            ("qualify", |l, r| {
                l.qualify(qualify_input(), r, now())
                    .map(|q| q.lead.state_name().to_string())
            }),
            ("disqualify lost", |l, r| {
                l.disqualify(&input("lost"), r)
                    .map(|l| l.state_name().to_string())
            }),
            ("disqualify bogus", |l, r| {
                l.disqualify(&input("bogus"), r)
                    .map(|l| l.state_name().to_string())
            }),
            ("reactivate", |l, r| {
                l.reactivate(r).map(|l| l.state_name().to_string())
            }),
        ];
        let expected: [(&str, &Lead, Want<4>); 3] = [
            (
                "open",
                &open,
                [
                    Ok("qualified"),
                    Ok("disqualified"),
                    Err("Lost"),
                    Err("open"),
                ],
            ),
            (
                "qualified",
                &qualified,
                [
                    Err("qualified"),
                    Err("qualified"),
                    Err("qualified"),
                    Ok("open"),
                ],
            ),
            (
                "disqualified",
                &disqualified,
                [
                    Err("disqualified"),
                    Err("disqualified"),
                    Err("disqualified"),
                    Ok("open"),
                ],
            ),
        ];
        for (name, lead, row) in expected {
            for ((step, f), want) in steps.iter().zip(row) {
                check(name, step, f(lead, &rules), want, |state| state.clone());
            }
        }
    }

    /// P-13 .. P-22: an opportunity is won, lost or reopened; a quote goes
    /// draft -> active -> revised, closed or won.
    #[test]
    fn the_opportunity_and_quote_state_machines_as_tables() {
        use crate::domain::quote::Quote;
        let rules = Rules::default();
        let (_, _, _, opp) = leads();
        let today = now().date_naive();
        let won = opp
            .win(Decimal::from(100), today, None, &rules)
            .expect("won");
        let lost = opp.lose(&input("out-sold"), None, &rules).expect("lost");
        type OppStep = fn(&Opportunity, &Rules) -> Result<Opportunity, Refusal>;
        let opp_steps: [(&str, OppStep); 3] = [
            ("win", |o, r| {
                o.win(Decimal::from(100), now().date_naive(), None, r)
            }),
            ("lose", |o, r| o.lose(&input("out-sold"), None, r)),
            ("reopen", |o, r| o.reopen(r)),
        ];
        let opp_table: [(&str, &Opportunity, Want<3>); 3] = [
            ("open", &opp, [Ok("won"), Ok("lost"), Err("already open")]),
            (
                "won",
                &won,
                [Err("reopen it first"), Err("reopen it first"), Ok("open")],
            ),
            (
                "lost",
                &lost,
                [Err("reopen it first"), Err("reopen it first"), Ok("open")],
            ),
        ];
        for (name, o, row) in opp_table {
            for ((step, f), want) in opp_steps.iter().zip(row) {
                check(name, step, f(o, &rules), want, |new| {
                    new.state_name().to_string()
                });
            }
        }

        let mut draft = Quote::from_opportunity(&opp, 1001, &rules, now()).expect("a draft");
        draft.pricing.lines.push(chairs("1"));
        let active = draft.activate(&rules, today, now()).expect("active");
        let won_q = active.win(&opp, today, None, 1001, &rules).expect("won");
        let (closed, _) = active
            .close(&input("lost"), false, &rules, now())
            .expect("closed");
        type QuoteStep = fn(&Quote, &Opportunity, &Rules) -> Result<String, Refusal>;
        let quote_steps: [(&str, QuoteStep); 4] = [
            ("activate", |q, _, r| {
                q.activate(r, now().date_naive(), now())
                    .map(|q| q.state_name().to_string())
            }),
            ("revise", |q, _, r| {
                q.revise(r, now().date_naive(), now())
                    .map(|(old, new)| format!("{}+{}", old.state_name(), new.state_name()))
            }),
            ("close lost", |q, _, r| {
                q.close(&input("lost"), false, r, now())
                    .map(|(q, _)| q.state_name().to_string())
            }),
            ("win", |q, o, r| {
                q.win(o, now().date_naive(), None, 1001, r)
                    .map(|q| q.state_name().to_string())
            }),
        ];
        let quote_table: [(&str, &Quote, Want<4>); 4] = [
            (
                "draft",
                &draft,
                [
                    Ok("active"),
                    Err("activate it first"),
                    Err("activate it first"),
                    Err("activate it first"),
                ],
            ),
            (
                "active",
                &active,
                [
                    Err("only a draft"),
                    Ok("closed+draft"),
                    Ok("closed"),
                    Ok("won"),
                ],
            ),
            (
                "won",
                &won_q,
                [
                    Err("only a draft"),
                    Err("only an active quote"),
                    Err("only an active quote"),
                    Err("only an active quote"),
                ],
            ),
            (
                "closed",
                &closed,
                [
                    Err("only a draft"),
                    Err("only an active quote"),
                    Err("only an active quote"),
                    Err("only an active quote"),
                ],
            ),
        ];
        for (name, q, row) in quote_table {
            for ((step, f), want) in quote_steps.iter().zip(row) {
                check(name, step, f(q, &opp, &rules), want, |state| state.clone());
            }
        }
        // A quote on a lost opportunity is not won.
        let e = active
            .win(&lost, today, None, 1001, &rules)
            .expect_err("lost");
        assert!(e.message().contains("reopen it first"), "{}", e.message());
    }
}
