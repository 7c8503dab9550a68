//! The graph rules, with petgraph: every workstation reachable from the initial one, and a
//! terminal one reachable from every workstation.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use super::Validator;
use crate::diagnostic::Code;
use crate::workflow::{Transition, Workstation, WorkstationId};

impl Validator<'_, '_> {
    /// Reachability from the initial workstation and a path to a terminal one. `initials` has
    /// more than one workstation only when several are marked initial (already reported);
    /// then a workstation is unreachable only if none of them reaches it.
    pub(super) fn graph_rules(
        &mut self,
        workstations: &[Workstation],
        transitions: &[Transition],
        initials: &[WorkstationId],
    ) {
        let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(workstations.len(), 0);
        for _ in workstations {
            graph.add_node(());
        }
        for t in transitions {
            for &f in &t.from {
                graph.add_edge(NodeIndex::new(f.index()), NodeIndex::new(t.to.index()), ());
            }
        }
        let mut reachable = vec![false; workstations.len()];
        let mut dfs = Dfs::empty(&graph);
        for initial in initials {
            dfs.move_to(NodeIndex::new(initial.index()));
            while let Some(n) = dfs.next(&graph) {
                reachable[n.index()] = true;
            }
        }
        let mut productive = vec![false; workstations.len()];
        let reversed = Reversed(&graph);
        let mut dfs = Dfs::empty(&graph);
        for (i, ws) in workstations.iter().enumerate() {
            if ws.terminal {
                dfs.move_to(NodeIndex::new(i));
                while let Some(n) = dfs.next(reversed) {
                    productive[n.index()] = true;
                }
            }
        }
        let initial_names = initials
            .iter()
            .map(|i| format!("`{}`", workstations[i.index()].name))
            .collect::<Vec<_>>()
            .join(" or ");
        let any_terminal = workstations.iter().any(|w| w.terminal);
        for (i, ws) in workstations.iter().enumerate() {
            if !reachable[i] {
                self.sink.push(
                    Code::UnreachableWorkstation,
                    ws.span,
                    format!(
                        "workstation `{}` cannot be reached from the initial workstation \
                         {initial_names}: no transition path leads to it",
                        ws.name
                    ),
                );
            } else if any_terminal && !productive[i] {
                self.sink.push(
                    Code::NoPathToTerminal,
                    ws.span,
                    format!(
                        "no terminal workstation can be reached from `{}`: work that enters it \
                         could never end",
                        ws.name
                    ),
                );
            }
        }
    }
}
