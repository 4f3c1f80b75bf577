"""Task dependency graphs per DAG, as networkx DiGraphs built from extracted edges."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from deferaudit.facts import FileFacts

if TYPE_CHECKING:
    import networkx as nx


def dag_graphs(files: Iterable[FileFacts]) -> dict[str, nx.DiGraph]:
    """DAG key -> graph whose nodes are task ids (with the TaskSite as ``site``)."""
    import networkx as nx  # imported here: scans that need no graph skip its import time

    graphs: dict[str, nx.DiGraph] = {}
    for facts in files:
        for dag in facts.dags:
            graphs[dag.key] = nx.DiGraph(dag_id=dag.dag_id.value if dag.dag_id else None)
        for site in facts.tasks:
            tid = site.task_id
            if site.dag_key in graphs and tid is not None and tid.kind == "literal":
                graphs[site.dag_key].add_node(tid.value, site=site)
        for dag_key, up, down in facts.edges:
            if dag_key in graphs:
                graphs[dag_key].add_edge(up, down)
    return graphs
