//! VAT categories (UNTDID 5305) of what a German seller invoices: the
//! rule that says what a 0 % part is, from where the customer is.

/// The member states of the European Union (VAT area), by ISO code.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// What a 0 % part is: `AE` reverse charge when the customer is marked so
/// (§ 13b UStG), `K` an intra-community supply (a customer in another EU
/// state with a VAT ID, § 4 Nr. 1b and § 6a UStG), `G` an export outside
/// the EU (§ 4 Nr. 1a and § 6 UStG), else `E` exempt.
pub fn zero_rated(
    seller_country: &str,
    buyer_country: &str,
    buyer_has_vat_id: bool,
    reverse_charge: bool,
) -> &'static str {
    if reverse_charge {
        return "AE";
    }
    let abroad = buyer_country != seller_country;
    let in_eu = EU.contains(&buyer_country);
    match (abroad, in_eu, buyer_has_vat_id) {
        (true, true, true) => "K",
        (true, false, _) => "G",
        _ => "E",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_rated_part_is_told_by_where_the_customer_is() {
        for (buyer, vat_id, reverse, want) in [
            ("DE", false, false, "E"),
            ("DE", true, false, "E"),
            ("FR", true, false, "K"),
            ("FR", false, false, "E"),
            ("CH", false, false, "G"),
            ("US", true, false, "G"),
            ("FR", true, true, "AE"),
            ("DE", false, true, "AE"),
        ] {
            assert_eq!(
                zero_rated("DE", buyer, vat_id, reverse),
                want,
                "{buyer} {vat_id} {reverse}"
            );
        }
    }
}
