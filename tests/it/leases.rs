//! Leases through the core, on the embedded store and (with
//! `LEADLINE_TEST_BACKEND=postgres`) on PostgreSQL: a lease is had by one
//! holder at a time, changes hands only once it expired (its fence going
//! up), and a write made under a lease that was lost changes nothing.

use std::time::Duration;

use crate::helpers::Lib;
use leadline::core::Leadline;

/// Runs `line` as maria on `core`; the answer's text or error.
fn run(lib: &Lib, core: &Leadline, line: &str) -> Result<String, String> {
    let request = core
        .parse(line, "maria", "shell", lib.now)
        .map_err(|e| e.to_string())?;
    let outcome = core.run(request).map_err(|e| e.to_string())?;
    Ok(core.render(&outcome, "maria", lib.now, false).text)
}

#[test]
fn a_write_under_a_lease_that_was_lost_changes_nothing() {
    let lib = Lib::new();
    let core = lib.store.core();
    let held = core
        .take_lease("scheduler", "daemon-a", Duration::from_millis(400))
        .expect("the store answers")
        .expect("a free lease");
    let a = core.fenced(held.clone());
    run(&lib, &a, "/lead new topic:Held company:C").expect("written while held");
    // Nobody else has it while it runs; its holder renews it.
    assert_eq!(
        core.take_lease("scheduler", "daemon-b", Duration::from_secs(5))
            .expect("the store answers"),
        None
    );
    let renewed = core
        .take_lease("scheduler", "daemon-a", Duration::from_millis(400))
        .expect("the store answers")
        .expect("renewed");
    assert_eq!(renewed.fence, held.fence);
    // Not renewed in time: another holder takes it, its fence one up.
    std::thread::sleep(Duration::from_millis(600));
    let taken = core
        .take_lease("scheduler", "daemon-b", Duration::from_secs(5))
        .expect("the store answers")
        .expect("expired: taken over");
    assert_eq!(
        (taken.holder.as_str(), taken.fence),
        ("daemon-b", held.fence + 1)
    );
    let before = run(&lib, core, "/list leads").expect("list");
    let late = run(&lib, &a, "/lead new topic:Late company:C").expect_err("refused");
    assert!(
        late.contains("daemon-a") && late.contains("no longer holds the scheduler lease"),
        "{late}"
    );
    assert_eq!(run(&lib, core, "/list leads").expect("list"), before);
    // The new holder writes; the former one cannot end its lease.
    let b = core.fenced(taken.clone());
    run(&lib, &b, "/lead new topic:Taken company:C").expect("written by the new holder");
    core.end_lease("scheduler", "daemon-a")
        .expect("the store answers");
    run(&lib, &b, "/lead new topic:Still company:C").expect("still held");
    let all = core.leases().expect("the store answers");
    assert!(
        all.iter()
            .any(|l| l.name == "scheduler" && l.holder == "daemon-b" && l.fence == taken.fence),
        "{all:?}"
    );
    // Its holder ends it: free at once, for the next holder, fence up.
    core.end_lease("scheduler", "daemon-b")
        .expect("the store answers");
    let next = core
        .take_lease("scheduler", "daemon-a", Duration::from_secs(5))
        .expect("the store answers")
        .expect("ended: free");
    assert_eq!(next.fence, taken.fence + 1);
    let list = run(&lib, core, "/list leads").expect("list");
    for topic in ["Held", "Taken", "Still"] {
        assert!(list.contains(topic), "{list}");
    }
    assert!(!list.contains("Late"), "{list}");
}
