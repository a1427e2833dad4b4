//! Property test: random command sequences never break the invariants.
//!
//! After every command: a refused command changed nothing; the store
//! invariants hold (`check_invariants`: gap-free numbers, exactly one
//! opportunity per qualified lead, totals = sum of lines, links both ways);
//! closed records (closed or won quote revisions, paid or canceled
//! invoices and credit notes, canceled orders) never change again (an
//! order invoiced in full changes only when one of its invoices is
//! canceled: it is fulfilled again); quote revisions only grow.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::helpers::{all, check_invariants, Lib};
use leadline::domain::invoice::{Invoice, InvoiceState};
use leadline::domain::order::{Order, OrderState};
use leadline::domain::quote::{Quote, QuoteState};
use leadline::domain::Kind;

fn command() -> impl Strategy<Value = String> {
    // Three ids per kind, so that commands meet the records earlier ones
    // made; weights favour the path through the process.
    let n = || 1001u64..1004;
    let m = || 1001u64..1003;
    prop_oneof![
        2 => (n(), any::<bool>()).prop_map(|(i, company)| if company {
            format!("/lead new topic:T{i} last:L{i} email:p{}@x.example company:\"Co {}\"", i % 3, i % 2)
        } else {
            format!("/lead new topic:T{i} last:L{i}")
        }),
        8 => n().prop_map(|i| format!("/qualify L-{i}")),
        1 => (n(), 0usize..3).prop_map(|(i, r)| format!("/disqualify L-{i} reason:{}", ["lost", "canceled", "bogus"][r])),
        1 => n().prop_map(|i| format!("/lead reactivate L-{i}")),
        1 => n().prop_map(|i| format!("/lead edit L-{i} city:Bonn")),
        6 => (n(), 1u32..4, 0u32..30).prop_map(|(i, q, d)| format!("/opp line add O-{i} sku:CHAIR-01 qty:{q} discount:{d}%")),
        1 => (n(), 1u32..3).prop_map(|(i, l)| format!("/opp line remove O-{i} {l}")),
        1 => n().prop_map(|i| format!("/opp win O-{i}")),
        1 => n().prop_map(|i| format!("/opp lose O-{i} reason:out-sold")),
        2 => n().prop_map(|i| format!("/opp reopen O-{i}")),
        8 => m().prop_map(|i| format!("/quote new O-{i}")),
        12 => m().prop_map(|i| format!("/quote activate Q-{i}")),
        3 => m().prop_map(|i| format!("/quote revise Q-{i}")),
        2 => (n(), 0u32..50).prop_map(|(i, f)| format!("/quote edit Q-{i} freight:{f} discount:{}", f / 10)),
        2 => (n(), 1u32..3).prop_map(|(i, q)| format!("/quote line add Q-{i} name:Setup price:{q}0 tax:7%")),
        1 => (n(), any::<bool>(), any::<bool>()).prop_map(|(i, rev, opp)| format!("/quote close Q-{i} reason:lost revise:{} close_opportunity:{}", if rev { "yes" } else { "no" }, if opp { "yes" } else { "no" })),
        12 => (m(), 0u8..3).prop_map(|(i, close)| match close {
            0 => format!("/quote win Q-{i}"),
            1 => format!("/quote win Q-{i} close_opportunity:no"),
            _ => format!("/quote win Q-{i} close_opportunity:yes revenue:1000"),
        }),
        12 => (m(), any::<bool>()).prop_map(|(i, p)| format!("/order fulfil SO-{i} reason:{}", if p { "partial" } else { "complete" })),
        2 => m().prop_map(|i| format!("/order cancel SO-{i} reason:\"changed mind\"")),
        1 => n().prop_map(|i| format!("/order edit SO-{i} freight:5")),
        3 => (n(), 0u8..4).prop_map(|(i, w)| format!("/task {} \"T\" due:\"{}\"", if i % 2 == 0 { format!("L-{i}") } else { format!("O-{i}") }, ["tomorrow", "2026-11-30 12:00", "in 3 days 9:00", "2026-12-24"][w as usize])),
        1 => n().prop_map(|i| format!("/note L-{i} \"remember\"")),
        1 => n().prop_map(|i| format!("/call O-{i} result:reached")),
        2 => n().prop_map(|i| format!("/done ACT-{i}")),
        1 => n().prop_map(|i| format!("/activity cancel ACT-{i}")),
        1 => (n(), any::<bool>()).prop_map(|(i, b)| format!("/activity assign ACT-{i} owner:{}", if b { "anna" } else { "me" })),
        1 => n().prop_map(|i| format!("/activity reschedule ACT-{i} due:\"2026-12-10 10:00\"")),
        2 => (n(), 0u8..3).prop_map(|(i, d)| format!("/opp edit O-{i} followup:{}", ["2026-11-29", "2026-12-05", "\"\""][d as usize])),
        1 => n().prop_map(|i| format!("/lead edit L-{i} followup:2026-11-30 owner:anna")),
        12 => m().prop_map(|i| format!("/order invoice SO-{i}")),
        4 => (m(), 1u32..3).prop_map(|(i, q)| format!("/order invoice SO-{i} lines:\"1={q}\"")),
        8 => m().prop_map(|i| format!("/invoice paid INV-{i} reason:complete")),
        6 => (n(), 1u32..900).prop_map(|(i, a)| format!("/invoice pay INV-{i} amount:{a},50")),
        2 => n().prop_map(|i| format!("/invoice cancel INV-{i} reason:canceled")),
    ]
}

/// The JSON of every record in a closed state, by storage identity.
fn closed_records(t: &Lib) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for q in all::<Quote>(&t.store, Kind::Quote) {
        if matches!(q.state, QuoteState::Closed { .. } | QuoteState::Won { .. }) {
            out.insert(
                format!("Q{}r{}", q.number, q.revision),
                serde_json::to_value(&q).expect("json"),
            );
        }
    }
    for o in all::<Order>(&t.store, Kind::Order) {
        if matches!(o.state, OrderState::Canceled { .. }) {
            out.insert(
                format!("SO{}", o.number),
                serde_json::to_value(&o).expect("json"),
            );
        }
    }
    for i in all::<Invoice>(&t.store, Kind::Invoice) {
        if !matches!(i.state, InvoiceState::Open) {
            out.insert(
                format!("INV{}", i.number),
                serde_json::to_value(&i).expect("json"),
            );
        }
    }
    out
}

fn latest_revisions(t: &Lib) -> BTreeMap<u64, u32> {
    let mut out = BTreeMap::new();
    for q in all::<Quote>(&t.store, Kind::Quote) {
        let e = out.entry(q.number).or_insert(0);
        *e = (*e).max(q.revision);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_every_invariant(commands in proptest::collection::vec(command(), 20..90)) {
        let t = Lib::new();
        t.ok("/product new CHAIR-01 name:Chair price:199.99 tax:19%");
        t.ok("/lead new topic:Seed last:Seed company:Seed");
        for cmd in &commands {
            let before = t.dump();
            let closed_before = closed_records(&t);
            let revisions_before = latest_revisions(&t);
            if t.store.execute(cmd, &t.ctx()).is_err() {
                prop_assert!(before == t.dump(), "refused {} changed the store", cmd);
            }
            check_invariants(&t.store, &t.config.process);
            let closed_after = closed_records(&t);
            for (id, json) in &closed_before {
                prop_assert_eq!(Some(json), closed_after.get(id), "closed record {} changed by {}", id, cmd);
            }
            let revisions_after = latest_revisions(&t);
            for (q, rev) in &revisions_before {
                prop_assert!(revisions_after.get(q).is_some_and(|r| r >= rev), "Q{} revision went down after {}", q, cmd);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Sweeps at random moments between commands announce every overdue
    /// item exactly once, whatever happened to it.
    #[test]
    fn sweeps_between_random_commands_announce_each_overdue_item_once(
        commands in proptest::collection::vec(command(), 10..50),
        hours in proptest::collection::vec(0i64..80, 10..50),
    ) {
        use leadline::command::Command;
        use leadline::store::Durability;
        let mut t = Lib::new();
        t.ok("/product new CHAIR-01 name:Chair price:199.99 tax:19%");
        t.ok("/lead new topic:Seed last:Seed company:Seed followup:2026-11-29");
        let start = t.now;
        let mut announced: std::collections::BTreeMap<String, usize> = Default::default();
        for (cmd, h) in commands.iter().zip(hours.iter().chain(std::iter::repeat(&0))) {
            let _ = t.store.execute(cmd, &t.ctx());
            t.now = start + chrono::Duration::hours(*h);
            t.store.run(&Command::Sweep { limit: 1000 }, "sweep", &t.ctx(), Durability::Flush).expect("sweep");
            check_invariants(&t.store, &t.config.process);
        }
        let notices: Vec<leadline::command::queue::Notice> =
            leadline::command::queue::all(&t.store.reader(), leadline::command::queue::keys::NOTICES).expect("notices");
        for n in notices {
            *announced.entry(format!("{:?}@{}", n.about, n.text)).or_default() += 1;
        }
        for (what, count) in announced {
            prop_assert_eq!(count, 1, "{} was announced {} times", what, count);
        }
    }
}
