"""The model's graph (one run to parse a message, one per predicted action) runs its nodes in order, without dask.

The graph runs one node after another anyway; dask's scheduling only added time to every run
(figures: docs/performance.md). Nodes run as dask's synchronous scheduler ran them, in this process.
"""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

Plan = Tuple[List[Tuple[str, Tuple[str, ...]]], FrozenSet[str]]
_dask_run = DaskGraphRunner.run


def _graph_plan(runner: DaskGraphRunner, targets: Tuple[str, ...]) -> Plan:
    """The nodes of Rasa's minimal schema for the targets, each after the nodes it needs, as
    (name, needs); and their names. Made once for each set of targets (a runner serves the same few)."""
    plans: Dict[Any, Plan] = runner.__dict__.setdefault("_medius_plans", {})
    if targets not in plans:
        nodes = runner._graph_schema.minimal_graph_schema(list(targets)).nodes  # noqa: SLF001 - as Rasa's run
        plan: List[Tuple[str, Tuple[str, ...]]] = []
        done: Set[str] = set()

        def visit(name: str) -> None:
            if name in done or name not in nodes:  # a name dask would pass as it is (an input)
                return
            done.add(name)
            needs = tuple(nodes[name].needs.values())
            for need in needs:
                visit(need)
            plan.append((name, needs))

        for name in nodes:
            visit(name)
        plans[targets] = (plan, frozenset(nodes))
    return plans[targets]


def _run_graph(self: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None,
               targets: Optional[List[str]] = None) -> Dict[str, Any]:
    """DaskGraphRunner.run without dask: each node once, after the nodes it needs, with their outputs."""
    run_targets = list(targets or self._graph_schema.target_names)
    inputs = inputs or {}
    plan, names = _graph_plan(self, tuple(run_targets))
    if not names.isdisjoint(inputs):  # an input standing in for a node: never done by Rasa; dask's own way
        return _dask_run(self, inputs, targets)
    given: Set[str] = set()
    for name, value in inputs.items():  # Rasa's own check: an input must not be read as a node's name
        if isinstance(value, str) and (value in names or value in given):
            raise GraphRunError(f"Input value '{value}' clashes with a node name. Make sure that none of the "
                                f"input names passed to the `run` method are the same as node names in the "
                                f"graph schema.")
        given.add(name)
    outputs: Dict[str, Any] = {name: (name, value) for name, value in inputs.items()}  # as dask passes inputs
    try:
        for name, needs in plan:
            outputs[name] = self._instantiated_nodes[name](*(outputs.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(outputs[target] for target in run_targets)


def install() -> None:
    DaskGraphRunner.run = _run_graph
