// Workstations, transitions, checks and holds named like the generated module's own parts (its
// type parameters, `Send`/`Sync`, the `Checks` methods, the items' trait methods) still give a
// module that compiles and keeps its types.
workstream::workflow!(mod awkward = "tests/ui/pass/awkward_names.yaml");

use awkward::{Item, S, Send, St, Sync, W};

fn walk<Store: workstream::Store>(
    item: Item<St>,
    engine: &workstream::Engine<Store>,
    actor: &workstream::Actor,
) -> Option<Item<S>> {
    let w: Item<W> = item.hold(engine, actor).ok()?;
    let send: Item<Send> = w.release(engine, actor).ok()?;
    let sync: Item<Sync> = send.clone(engine, actor).ok()?;
    let copy: Item<Sync> = Clone::clone(&sync);
    let _ = copy;
    let held: Item<Sync> = sync
        .put_on_hold(engine, actor, awkward::holds::HOLD, "why")
        .ok()?;
    held.into_item(engine, actor).ok()
}

fn main() {
    let _ = walk::<workstream::MemoryStore>;
    let checks = awkward::Checks::new()
        .default(|_| workstream::Verdict::Pass)
        .from(|_| workstream::Verdict::Pass)
        .into(|_| workstream::Verdict::Pass);
    // A check named `into` hides `Into::into` as a method; the conversion is still there.
    let _checks = workstream::Checks::from(checks);
    assert_eq!(awkward::roles::ST, "st");
}
