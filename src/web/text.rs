//! The words of the web pages, in German and English (the member's
//! `language`, else `[web] language`). Command replies stay in the
//! command language's English, as in chat and the shell.

use std::collections::BTreeMap;

/// (key, German, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("board", "Pipeline", "Pipeline"),
    ("leads", "Leads", "Leads"),
    ("opportunities", "Verkaufschancen", "Opportunities"),
    ("quotes", "Angebote", "Quotes"),
    ("orders", "Aufträge", "Orders"),
    ("invoices", "Rechnungen", "Invoices"),
    ("accounts", "Firmen", "Accounts"),
    ("contacts", "Kontakte", "Contacts"),
    ("agenda", "Meine Aufgaben", "My agenda"),
    ("inbox", "Posteingang", "Inbox"),
    ("reports", "Berichte", "Reports"),
    ("search", "Suchen", "Search"),
    ("sign_out", "Abmelden", "Sign out"),
    ("signed_in_as", "Angemeldet als", "Signed in as"),
    ("command", "Befehl", "Command"),
    ("run", "Ausführen", "Run"),
    ("sign_in", "Anmelden", "Sign in"),
    (
        "sign_in_how",
        "Schreiben Sie /web an den leadline-Bot in Discord oder bitten Sie den Betreiber um `leadline web-link IHR-NAME`. Der Link gilt 15 Minuten und einmal.",
        "Send /web to the leadline bot in Discord, or ask the operator for `leadline web-link YOUR-NAME`. The link is valid for 15 minutes, once.",
    ),
    ("sign_in_as", "Anmelden als", "Sign in as"),
    ("sign_in_link", "Anmeldelink", "Sign-in link"),
    ("stage_1 qualify", "Qualifizieren", "Qualify"),
    ("stage_2 develop", "Entwickeln", "Develop"),
    ("stage_3 propose", "Anbieten", "Propose"),
    ("stage_4 on hold", "Zurückgestellt", "On hold"),
    ("move_to", "Verschieben nach", "Move to"),
    ("move", "Verschieben", "Move"),
    ("won", "Gewonnen", "Won"),
    ("lost", "Verloren", "Lost"),
    ("in_progress", "In Bearbeitung", "In progress"),
    ("everyone", "Alle", "Everyone"),
    ("mine", "Meine", "Mine"),
    ("owner", "Besitzer", "Owner"),
    ("state", "Status", "State"),
    ("any", "alle", "any"),
    ("filter", "Filtern", "Filter"),
    ("more", "Weitere", "More"),
    ("next_activity", "Nächste Aktivität", "Next activity"),
    ("follow_up", "Wiedervorlage", "Follow-up"),
    ("probability", "Wahrscheinlichkeit", "Probability"),
    ("account", "Firma", "Account"),
    ("value", "Wert", "Value"),
    ("cards", "Karten", "cards"),
    ("not_shown", "nicht angezeigt", "not shown"),
    ("id", "Nr.", "Id"),
    ("name", "Name", "Name"),
    ("created", "Angelegt", "Created"),
    ("amount", "Betrag", "Amount"),
    ("export", "Exportieren", "Export"),
    ("no_records", "Keine Einträge.", "Nothing here."),
    ("summary", "Übersicht", "Summary"),
    ("fields", "Felder", "Fields"),
    ("timeline", "Zeitleiste", "Timeline"),
    ("history", "Verlauf", "History"),
    ("documents", "Dokumente", "Documents"),
    ("document_pdf", "PDF öffnen", "Open the PDF"),
    ("next_steps", "Nächste Schritte", "Next steps"),
    ("overdue", "Überfällig", "Overdue"),
    ("link_to", "Zuordnen zu", "Link to"),
    ("make_lead", "Lead anlegen", "Make a lead"),
    ("confirm", "Bestätigen", "Confirm"),
    ("cancel", "Abbrechen", "Cancel"),
    ("pipeline_report", "Pipeline", "Pipeline"),
    ("wonlost_report", "Gewonnen/Verloren", "Won/lost"),
    ("revenue_report", "Umsatz", "Revenue"),
    ("funnel_report", "Trichter", "Funnel"),
    ("aging_report", "Offene Posten", "Aging"),
    ("by", "nach", "by"),
    ("from", "von", "from"),
    ("to", "bis", "to"),
    ("show", "Anzeigen", "Show"),
    ("not_found", "Nicht gefunden", "Not found"),
    ("when", "Wann", "When"),
    ("who", "Wer", "Who"),
    ("what", "Was", "What"),
    ("kind", "Art", "Kind"),
    ("subject", "Betreff", "Subject"),
    ("due", "Fällig", "Due"),
    ("api_tokens", "API-Schlüssel", "API tokens"),
];

/// The words of the pages in `language` (`de` or `en`), by key.
pub fn words(language: &str) -> BTreeMap<&'static str, &'static str> {
    WORDS
        .iter()
        .map(|(k, de, en)| (*k, if language == "en" { *en } else { *de }))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_named_once() {
        let keys: std::collections::BTreeSet<&str> = super::WORDS.iter().map(|w| w.0).collect();
        assert_eq!(keys.len(), super::WORDS.len());
        assert_eq!(super::words("en")["board"], "Pipeline");
        assert_eq!(super::words("de")["inbox"], "Posteingang");
    }
}
