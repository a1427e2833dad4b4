//! Documents a customer receives: quotes (each revision), order
//! confirmations, invoices and credit notes, as PDF/A from a Typst
//! template, and invoices and credit notes as EN 16931 e-invoices
//! (Factur-X/ZUGFeRD: the CII XML inside the PDF/A-3; XRechnung: the CII
//! XML on its own, for public customers with a Leitweg-ID).
//!
//! A document is rendered from the stored record, outside any command's
//! transaction: [`model::build`] computes it once (parties, lines, totals
//! by EN 16931's rules), and both the PDF and the XML are written from
//! that, so they state the same amounts. The same record renders to the
//! same content.

pub mod cii;
pub mod model;
pub mod pdf;
mod xmp;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::command::records::load;
use crate::core::Leadline;
use crate::domain::invoice::Invoice;
use crate::domain::order::Order;
use crate::domain::party::{Account, Contact};
use crate::domain::quote::Quote;
use crate::domain::{Kind, RecordId};
use model::{DocKind, Document, Lang};

/// A rendered document.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub kind: DocKind,
    pub language: Lang,
    /// As shown (`INV-1001`).
    pub number: String,
    /// `Rechnung-INV-1001.pdf`, `Invoice-INV-1001.pdf`...
    pub file_name: String,
    pub pdf: Vec<u8>,
    /// The Factur-X XML inside the PDF (invoices and credit notes).
    pub facturx: Option<String>,
    /// The XRechnung XML, for accounts with a Leitweg-ID.
    pub xrechnung: Option<String>,
    /// The document as computed: what the PDF and the XML state.
    pub document: Document,
}

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{0}")]
    NotFound(String),
    /// The record kind has no document, or the configuration lacks what
    /// documents need.
    #[error("{0}")]
    Invalid(String),
    #[error("the store cannot be read: {0}")]
    Store(String),
    #[error("{0}")]
    Typeset(#[from] pdf::TypesetError),
}

/// Renders the document of record `id` (a quote, order or invoice; for a
/// quote without revision, its latest) at `now` (the PDF's date, in the
/// team's time zone).
///
/// Fails when the record does not exist or has no document, when
/// `[company]` lacks what a document needs, or the template is broken.
pub fn render(
    core: &Leadline,
    id: RecordId,
    now: DateTime<Utc>,
) -> Result<Rendered, DocumentError> {
    let config = core.config();
    if let Some(missing) = config.company.missing() {
        return Err(DocumentError::Invalid(missing));
    }
    let today = now.with_timezone(&config.team.timezone).date_naive();
    let rules = &config.process;
    let source = core
        .read(|tx| source(tx, id))
        .map_err(|e| DocumentError::Store(e.to_string()))?
        .map_err(|e| DocumentError::Store(e.to_string()))?;
    let Some(source) = source else {
        let shown = rules.numbering.display(id);
        return Err(match id.kind {
            Kind::Quote | Kind::Order | Kind::Invoice => {
                DocumentError::NotFound(format!("there is no {} {shown}", id.kind.name()))
            }
            other => DocumentError::Invalid(format!(
                "{} have no document; quotes, orders and invoices do",
                other.plural()
            )),
        });
    };
    let owner = source.record.owner();
    let handled_by = config
        .team
        .member(owner)
        .and_then(|m| m.full_name.clone())
        .unwrap_or_else(|| owner.to_string());
    let document = model::build(
        &source,
        &config.company,
        &config.documents.language,
        rules,
        &handled_by,
    );
    let is_invoice = document.kind.invoice_type_code().is_some();
    let facturx = if is_invoice {
        Some(cii::write(&document, cii::EN16931).map_err(DocumentError::Invalid)?)
    } else {
        None
    };
    let xrechnung = match (&document.buyer.leitweg_id, is_invoice) {
        (Some(_), true) => {
            Some(cii::write(&document, cii::XRECHNUNG).map_err(DocumentError::Invalid)?)
        }
        _ => None,
    };
    let folder = config.documents.templates.clone();
    let logo = config.company.logo.clone();
    let files = pdf::Files {
        template: pdf::template(folder.as_deref())?,
        data: view(&document, logo.as_deref()).to_string(),
        xml: facturx.clone(),
        logo,
        folder,
    };
    let mut bytes = pdf::typeset(files, today)?;
    if is_invoice {
        bytes = xmp::facturx(&bytes).map_err(DocumentError::Invalid)?;
    }
    let word = match (document.kind, document.language) {
        (DocKind::Quote, Lang::De) => "Angebot",
        (DocKind::Quote, Lang::En) => "Quotation",
        (DocKind::Order, Lang::De) => "Auftragsbestaetigung",
        (DocKind::Order, Lang::En) => "Order-confirmation",
        (DocKind::Invoice, Lang::De) => "Rechnung",
        (DocKind::Invoice, Lang::En) => "Invoice",
        (DocKind::CreditNote, Lang::De) => "Gutschrift",
        (DocKind::CreditNote, Lang::En) => "Credit-note",
    };
    Ok(Rendered {
        kind: document.kind,
        language: document.language,
        number: document.number.clone(),
        file_name: format!("{word}-{}.pdf", document.number.replace(' ', "-")),
        pdf: bytes,
        facturx,
        xrechnung,
        document,
    })
}

/// What the document of `id` is made of: the record, its account and
/// contact, and an invoice's order; `None` when there is no such record or
/// its kind has no document.
///
/// Fails when the store cannot be read.
fn source(
    tx: &mut dyn crate::command::Tx,
    id: RecordId,
) -> Result<Option<model::Source>, crate::command::CommandError> {
    let (record, account, contact, order) = match id.kind {
        Kind::Quote => {
            let Some(q) = load::<Quote>(tx, id.number, id.revision)? else {
                return Ok(None);
            };
            let (a, c) = (q.account, q.contact);
            (model::Record::Quote(q), a, c, None)
        }
        Kind::Order => {
            let Some(o) = load::<Order>(tx, id.number, None)? else {
                return Ok(None);
            };
            let (a, c) = (o.account, o.contact);
            (model::Record::Order(o), a, c, None)
        }
        Kind::Invoice => {
            let Some(i) = load::<Invoice>(tx, id.number, None)? else {
                return Ok(None);
            };
            let order = load::<Order>(tx, i.order, None)?;
            let (a, c) = (i.account, i.contact);
            (model::Record::Invoice(i), a, c, order)
        }
        _ => return Ok(None),
    };
    let account = match account {
        Some(n) => load::<Account>(tx, n, None)?,
        None => None,
    };
    let contact = match contact {
        Some(n) => load::<Contact>(tx, n, None)?,
        None => None,
    };
    Ok(Some(model::Source {
        record,
        account,
        contact,
        order,
    }))
}

/// The payment terms an invoice states.
pub fn payment_terms(d: &Document) -> String {
    let due = d.due_date.map(|x| d.language.date(x)).unwrap_or_default();
    match (d.kind, d.language) {
        (DocKind::CreditNote, Lang::De) => "Der Betrag wird Ihnen gutgeschrieben.".to_string(),
        (DocKind::CreditNote, Lang::En) => "The amount will be credited to you.".to_string(),
        (_, Lang::De) => format!("Zahlbar ohne Abzug bis {due}."),
        (_, Lang::En) => format!("Payable without deduction by {due}."),
    }
}

/// The data a template reads (`/data.json`): every amount and date
/// written in the document's language.
fn view(d: &Document, logo: Option<&std::path::Path>) -> serde_json::Value {
    let l = d.language;
    let c = &d.currency;
    let money = |a| l.money(a, c);
    let date = |x: Option<NaiveDate>| x.map(|x| l.date(x));
    let s = &d.seller;
    let lines: Vec<serde_json::Value> = d
        .lines
        .iter()
        .map(|x| {
            json!({
                "position": x.position,
                "sku": x.sku.clone().unwrap_or_default(),
                "description": x.description,
                "quantity": l.quantity(x.quantity),
                "unit_price": l.price(x.unit_price, c),
                "discount": if x.discount.is_zero() { String::new() } else { money(x.discount) },
                "net": money(x.net),
                "tax_rate": format!("{} %", l.quantity(x.tax_rate)),
            })
        })
        .collect();
    let t = &d.totals;
    let mut notes = Vec::new();
    if let Some(until) = d.valid_until.filter(|_| d.kind == DocKind::Quote) {
        notes.push(match l {
            Lang::De => format!("Dieses Angebot gilt bis {}.", l.date(until)),
            Lang::En => format!("This quotation is valid until {}.", l.date(until)),
        });
    }
    if d.kind.invoice_type_code().is_some() {
        notes.push(payment_terms(d));
        if d.kind == DocKind::Invoice && !t.due.is_zero() && s.iban.is_some() {
            notes.push(match l {
                Lang::De => format!(
                    "Bitte überweisen Sie {} unter Angabe der Rechnungsnummer {} auf das unten genannte Konto.",
                    money(t.due),
                    d.number
                ),
                Lang::En => format!(
                    "Please transfer {} quoting invoice number {} to the account below.",
                    money(t.due),
                    d.number
                ),
            });
        }
    }
    if d.delivery_date.is_some()
        && d.delivery_date == Some(d.issue_date)
        && d.kind == DocKind::Invoice
    {
        notes.push(match l {
            Lang::De => "Das Leistungsdatum entspricht dem Rechnungsdatum.".to_string(),
            Lang::En => "The date of supply is the invoice date.".to_string(),
        });
    }
    notes.extend(cii::exemption_note(d));
    json!({
        "kind": d.kind,
        "language": l,
        "number": d.number,
        "title": d.title,
        "description": d.description,
        "date": l.date(d.issue_date),
        "delivery_date": date(d.delivery_date),
        "due_date": date(d.due_date),
        "valid_until": date(d.valid_until),
        "order": d.order,
        "corrects": d.corrects,
        "customer_number": d.buyer.number,
        "handled_by": d.handled_by,
        "logo": logo.map(|p| format!(
            "/logo.{}",
            p.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default()
        )),
        "seller": {
            "name": s.name,
            "street": s.street,
            "postal_code": s.postal_code,
            "city": s.city,
            "vat_id": s.vat_id,
            "tax_number": s.tax_number,
            "register": s.register,
            "directors": (!s.managing_directors.is_empty()).then(|| s.managing_directors.join(", ")),
            "phone": s.phone,
            "email": s.email,
            "website": s.website,
            "bank": s.bank,
            "iban": s.iban_compact().map(|i| group4(&i)),
            "bic": s.bic,
        },
        "buyer": {
            "name": d.buyer.name,
            "contact": d.buyer.contact,
            "street": d.buyer.street,
            "postal_code": d.buyer.postal_code,
            "city": d.buyer.city,
            "country_name": d.buyer.country_name,
            "vat_id": d.buyer.vat_id,
        },
        "lines": lines,
        "show_discounts": d.lines.iter().any(|x| !x.discount.is_zero()),
        "totals": {
            "lines": money(t.lines),
            "discount": (!t.allowances.is_zero()).then(|| money(t.allowances)),
            "freight": (!t.charges.is_zero()).then(|| money(t.charges)),
            "taxes": d.taxes.iter().map(|x| json!({
                "rate": format!("{} %", l.quantity(x.rate)),
                "basis": money(x.basis),
                "tax": money(x.tax),
            })).collect::<Vec<_>>(),
            "grand": money(t.grand),
            "paid": (!t.paid.is_zero()).then(|| money(t.paid)),
            "due": money(t.due),
        },
        "notes": notes,
    })
}

/// `DE02370501980001802057` -> `DE02 3705 0198 0001 8020 57`.
fn group4(s: &str) -> String {
    s.chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}
