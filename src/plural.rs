//! A count and its word, in the reader's language: the customer space and the operator's tool
//! speak English (`1 credit`, `0 credits`), the emails to customers French (`1 crédit`,
//! `0 crédit`, `2 crédits`). Never `1 credits`, never `credit(s)`.

/// A word in the singular, then in the plural.
pub type Words = (&'static str, &'static str);

/// `count` and its word as English has it: the singular for one only (`0 credits`, `1 credit`).
pub fn english(count: u64, (singular, plural): Words) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// `count` and its word as French has it: the singular for zero and one (`0 crédit`,
/// `1 crédit`, `2 crédits`).
pub fn french(count: u64, (singular, plural): Words) -> String {
    format!("{count} {}", if count > 1 { plural } else { singular })
}

/// A length or a count of items, for [`english`] and [`french`].
pub fn count(items: usize) -> u64 {
    u64::try_from(items).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_takes_the_singular_for_one_only_and_french_for_zero_and_one() {
        let credits = ("credit", "credits");
        assert_eq!([0, 1, 2].map(|n| english(n, credits)), ["0 credits", "1 credit", "2 credits"]);
        let credits = ("crédit", "crédits");
        assert_eq!([0, 1, 2].map(|n| french(n, credits)), ["0 crédit", "1 crédit", "2 crédits"]);
        assert_eq!(english(count(1), ("recipient", "recipients")), "1 recipient");
    }
}
