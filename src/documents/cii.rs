//! The e-invoice: an invoice or credit note as UN/CEFACT Cross Industry
//! Invoice XML (CII D16B), profile EN 16931 (what ZUGFeRD 2 and Factur-X
//! call "EN 16931", and the syntax XRechnung accepts too).
//!
//! Written by hand: the elements are few and their order is fixed by the
//! schema; a small writer that escapes text is all it takes, and the tests
//! validate the result against the official schemas.

use rust_decimal::Decimal;

use super::model::{DocKind, Document};

/// The guideline (BT-24) of EN 16931's own profile.
pub const EN16931: &str = "urn:cen.eu:en16931:2017";
/// The guideline of XRechnung 3.0 (CII syntax).
pub const XRECHNUNG: &str = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";

/// A writer of nested elements.
struct Xml {
    out: String,
    open: Vec<&'static str>,
}

impl Xml {
    fn new() -> Xml {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Opens `name` with `attrs`.
    fn start(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        self.out.push_str(">\n");
        self.open.push(name);
    }

    fn end(&mut self) {
        if let Some(name) = self.open.pop() {
            self.indent();
            self.out.push_str(&format!("</{name}>\n"));
        }
    }

    /// `<name attrs>text</name>`.
    fn text_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        self.out.push_str(&format!(">{}</{name}>\n", escape(text)));
    }

    fn text(&mut self, name: &str, text: &str) {
        self.text_with(name, &[], text);
    }

    /// `<name>text</name>` when there is text.
    fn maybe(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            self.text(name, t);
        }
    }

    /// A date as CII writes it (`format="102"`: YYYYMMDD).
    fn date(&mut self, outer: &'static str, date: chrono::NaiveDate) {
        self.start(outer, &[]);
        self.text_with(
            "udt:DateTimeString",
            &[("format", "102")],
            &date.format("%Y%m%d").to_string(),
        );
        self.end();
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An amount with the currency's decimals.
fn amount(d: &Document, a: Decimal) -> String {
    d.currency.round(a).to_string()
}

/// A rate, quantity or price: as precise as it is, no trailing zeros.
fn exact(n: Decimal) -> String {
    n.normalize().to_string()
}

/// The CII XML of an invoice or credit note; `guideline` is [`EN16931`]
/// or [`XRECHNUNG`].
///
/// Fails for a document that is not an invoice or credit note.
pub fn write(d: &Document, guideline: &str) -> Result<String, String> {
    let type_code = d.kind.invoice_type_code().ok_or_else(|| {
        format!(
            "{} is not an invoice; only invoices and credit notes are e-invoices",
            d.number
        )
    })?;
    let mut x = Xml::new();
    x.start(
        "rsm:CrossIndustryInvoice",
        &[
            ("xmlns:rsm", "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"),
            ("xmlns:qdt", "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"),
            (
                "xmlns:ram",
                "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
            ),
            ("xmlns:xs", "http://www.w3.org/2001/XMLSchema"),
            ("xmlns:udt", "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"),
        ],
    );
    x.start("rsm:ExchangedDocumentContext", &[]);
    x.start("ram:GuidelineSpecifiedDocumentContextParameter", &[]);
    x.text("ram:ID", guideline);
    x.end();
    x.end();

    x.start("rsm:ExchangedDocument", &[]);
    x.text("ram:ID", &d.number);
    x.text("ram:TypeCode", type_code);
    x.date("ram:IssueDateTime", d.issue_date);
    if let Some(text) = &d.description {
        x.start("ram:IncludedNote", &[]);
        x.text("ram:Content", text);
        x.end();
    }
    if let Some(reason) = exemption_note(d) {
        x.start("ram:IncludedNote", &[]);
        x.text("ram:Content", &reason);
        x.end();
    }
    x.end();

    x.start("rsm:SupplyChainTradeTransaction", &[]);
    for l in &d.lines {
        x.start("ram:IncludedSupplyChainTradeLineItem", &[]);
        x.start("ram:AssociatedDocumentLineDocument", &[]);
        x.text("ram:LineID", &l.position.to_string());
        x.end();
        x.start("ram:SpecifiedTradeProduct", &[]);
        x.maybe("ram:SellerAssignedID", l.sku.as_deref());
        x.text("ram:Name", &l.description);
        x.end();
        x.start("ram:SpecifiedLineTradeAgreement", &[]);
        x.start("ram:NetPriceProductTradePrice", &[]);
        x.text("ram:ChargeAmount", &exact(l.unit_price));
        x.end();
        x.end();
        x.start("ram:SpecifiedLineTradeDelivery", &[]);
        x.text_with(
            "ram:BilledQuantity",
            &[("unitCode", l.unit_code)],
            &exact(l.quantity),
        );
        x.end();
        x.start("ram:SpecifiedLineTradeSettlement", &[]);
        x.start("ram:ApplicableTradeTax", &[]);
        x.text("ram:TypeCode", "VAT");
        x.text("ram:CategoryCode", l.tax_category);
        x.text("ram:RateApplicablePercent", &exact(l.tax_rate));
        x.end();
        if !l.discount.is_zero() {
            x.start("ram:SpecifiedTradeAllowanceCharge", &[]);
            x.start("ram:ChargeIndicator", &[]);
            x.text("udt:Indicator", "false");
            x.end();
            x.text("ram:ActualAmount", &amount(d, l.discount));
            x.text("ram:Reason", reason_discount(d));
            x.end();
        }
        x.start("ram:SpecifiedTradeSettlementLineMonetarySummation", &[]);
        x.text("ram:LineTotalAmount", &amount(d, l.net));
        x.end();
        x.end();
        x.end();
    }

    x.start("ram:ApplicableHeaderTradeAgreement", &[]);
    x.maybe("ram:BuyerReference", d.buyer.leitweg_id.as_deref());
    seller(&mut x, d);
    buyer(&mut x, d);
    if let Some(order) = &d.order {
        x.start("ram:SellerOrderReferencedDocument", &[]);
        x.text("ram:IssuerAssignedID", order);
        x.end();
    }
    x.end();

    x.start("ram:ApplicableHeaderTradeDelivery", &[]);
    // An intra-community supply names where the goods went (BT-80).
    if d.taxes.iter().any(|t| t.category == "K") {
        x.start("ram:ShipToTradeParty", &[]);
        x.text("ram:Name", &d.buyer.name);
        x.start("ram:PostalTradeAddress", &[]);
        x.maybe("ram:PostcodeCode", d.buyer.postal_code.as_deref());
        x.maybe("ram:LineOne", d.buyer.street.as_deref());
        x.maybe("ram:CityName", d.buyer.city.as_deref());
        x.text("ram:CountryID", &d.buyer.country);
        x.end();
        x.end();
    }
    if let Some(date) = d.delivery_date {
        x.start("ram:ActualDeliverySupplyChainEvent", &[]);
        x.date("ram:OccurrenceDateTime", date);
        x.end();
    }
    x.end();

    x.start("ram:ApplicableHeaderTradeSettlement", &[]);
    x.text("ram:PaymentReference", &d.number);
    x.text("ram:InvoiceCurrencyCode", d.currency.code());
    if let Some(iban) = d.seller.iban_compact() {
        x.start("ram:SpecifiedTradeSettlementPaymentMeans", &[]);
        // 58: SEPA credit transfer.
        x.text("ram:TypeCode", "58");
        x.start("ram:PayeePartyCreditorFinancialAccount", &[]);
        x.text("ram:IBANID", &iban);
        x.maybe("ram:AccountName", Some(d.seller.name.as_str()));
        x.end();
        if let Some(bic) = &d.seller.bic {
            x.start("ram:PayeeSpecifiedCreditorFinancialInstitution", &[]);
            x.text("ram:BICID", bic);
            x.end();
        }
        x.end();
    }
    for t in &d.taxes {
        x.start("ram:ApplicableTradeTax", &[]);
        x.text("ram:CalculatedAmount", &amount(d, t.tax));
        x.text("ram:TypeCode", "VAT");
        if t.category != "S" {
            x.text("ram:ExemptionReason", &exemption_reason(d, t.category));
        }
        x.text("ram:BasisAmount", &amount(d, t.basis));
        x.text("ram:CategoryCode", t.category);
        x.text("ram:RateApplicablePercent", &exact(t.rate));
        x.end();
    }
    for t in &d.taxes {
        for (charge, value) in [(false, t.allowance), (true, t.charge)] {
            if value.is_zero() {
                continue;
            }
            x.start("ram:SpecifiedTradeAllowanceCharge", &[]);
            x.start("ram:ChargeIndicator", &[]);
            x.text("udt:Indicator", if charge { "true" } else { "false" });
            x.end();
            x.text("ram:ActualAmount", &amount(d, value));
            if charge {
                // FC: freight service (UNTDID 7161).
                x.text("ram:ReasonCode", "FC");
                x.text("ram:Reason", reason_freight(d));
            } else {
                x.text("ram:Reason", reason_discount(d));
            }
            x.start("ram:CategoryTradeTax", &[]);
            x.text("ram:TypeCode", "VAT");
            x.text("ram:CategoryCode", t.category);
            x.text("ram:RateApplicablePercent", &exact(t.rate));
            x.end();
            x.end();
        }
    }
    x.start("ram:SpecifiedTradePaymentTerms", &[]);
    x.text("ram:Description", &super::payment_terms(d));
    if let Some(due) = d.due_date {
        x.date("ram:DueDateDateTime", due);
    }
    x.end();
    let t = &d.totals;
    x.start("ram:SpecifiedTradeSettlementHeaderMonetarySummation", &[]);
    x.text("ram:LineTotalAmount", &amount(d, t.lines));
    x.text("ram:ChargeTotalAmount", &amount(d, t.charges));
    x.text("ram:AllowanceTotalAmount", &amount(d, t.allowances));
    x.text("ram:TaxBasisTotalAmount", &amount(d, t.tax_basis));
    x.text_with(
        "ram:TaxTotalAmount",
        &[("currencyID", d.currency.code())],
        &amount(d, t.tax),
    );
    x.text("ram:GrandTotalAmount", &amount(d, t.grand));
    x.text("ram:TotalPrepaidAmount", &amount(d, t.paid));
    x.text("ram:DuePayableAmount", &amount(d, t.due));
    x.end();
    if let (DocKind::CreditNote, Some(corrects)) = (d.kind, &d.corrects) {
        x.start("ram:InvoiceReferencedDocument", &[]);
        x.text("ram:IssuerAssignedID", corrects);
        x.end();
    }
    x.end();
    x.end();
    x.end();
    Ok(x.out)
}

fn seller(x: &mut Xml, d: &Document) {
    let s = &d.seller;
    x.start("ram:SellerTradeParty", &[]);
    x.text("ram:Name", &s.name);
    if s.phone.is_some() || s.email.is_some() {
        x.start("ram:DefinedTradeContact", &[]);
        x.text("ram:PersonName", &d.handled_by);
        if let Some(phone) = &s.phone {
            x.start("ram:TelephoneUniversalCommunication", &[]);
            x.text("ram:CompleteNumber", phone);
            x.end();
        }
        if let Some(email) = &s.email {
            x.start("ram:EmailURIUniversalCommunication", &[]);
            x.text("ram:URIID", email);
            x.end();
        }
        x.end();
    }
    let vat = s.vat_id.as_ref().map(|v| v.replace(' ', ""));
    address(
        x,
        [&s.postal_code, &s.street, &s.city],
        &s.country,
        s.email.as_deref(),
        [("VA", vat.as_deref()), ("FC", s.tax_number.as_deref())],
    );
    x.end();
}

/// A party's address, electronic address (BT-34, BT-49) and tax
/// registrations (`VA` VAT ID, `FC` tax number), in the schema's order.
fn address(
    x: &mut Xml,
    [postcode, street, city]: [&Option<String>; 3],
    country: &str,
    email: Option<&str>,
    registrations: [(&str, Option<&str>); 2],
) {
    x.start("ram:PostalTradeAddress", &[]);
    x.maybe("ram:PostcodeCode", postcode.as_deref());
    x.maybe("ram:LineOne", street.as_deref());
    x.maybe("ram:CityName", city.as_deref());
    x.text("ram:CountryID", country);
    x.end();
    if let Some(email) = email {
        x.start("ram:URIUniversalCommunication", &[]);
        x.text_with("ram:URIID", &[("schemeID", "EM")], email);
        x.end();
    }
    for (scheme, id) in registrations {
        if let Some(id) = id {
            x.start("ram:SpecifiedTaxRegistration", &[]);
            x.text_with("ram:ID", &[("schemeID", scheme)], id);
            x.end();
        }
    }
}

fn buyer(x: &mut Xml, d: &Document) {
    let b = &d.buyer;
    x.start("ram:BuyerTradeParty", &[]);
    x.maybe("ram:ID", b.number.as_deref());
    x.text("ram:Name", &b.name);
    if let Some(contact) = &b.contact {
        x.start("ram:DefinedTradeContact", &[]);
        x.text("ram:PersonName", contact);
        x.end();
    }
    address(
        x,
        [&b.postal_code, &b.street, &b.city],
        &b.country,
        b.email.as_deref(),
        [("VA", b.vat_id.as_deref()), ("FC", None)],
    );
    x.end();
}

fn reason_discount(d: &Document) -> &'static str {
    match d.language {
        super::model::Lang::De => "Rabatt",
        super::model::Lang::En => "Discount",
    }
}

fn reason_freight(d: &Document) -> &'static str {
    match d.language {
        super::model::Lang::De => "Versand",
        super::model::Lang::En => "Freight",
    }
}

/// Why a 0 % part of `category` is free of VAT, as the invoice must say
/// (§14 (4) Nr. 8 UStG): the configured reason for exempt parts.
pub fn exemption_reason(d: &Document, category: &str) -> String {
    use super::model::Lang::{De, En};
    match (category, d.language) {
        ("K", De) => {
            "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b i. V. m. § 6a UStG)".into()
        }
        ("K", En) => "Tax-exempt intra-community supply (Art. 138 VAT Directive)".into(),
        ("G", De) => "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a i. V. m. § 6 UStG)".into(),
        ("G", En) => "Tax-exempt export (Art. 146 VAT Directive)".into(),
        ("AE", De) => "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG)".into(),
        ("AE", En) => "Reverse charge: the recipient owes the VAT (Art. 196 VAT Directive)".into(),
        (_, lang) => d.seller.exemption_reason.clone().unwrap_or_else(|| {
            match lang {
                De => "Steuerfreie Leistung",
                En => "VAT exempt",
            }
            .to_string()
        }),
    }
}

/// The note an invoice with parts free of VAT carries.
pub fn exemption_note(d: &Document) -> Option<String> {
    d.taxes
        .iter()
        .find(|t| t.category != "S")
        .map(|t| exemption_reason(d, t.category))
}
