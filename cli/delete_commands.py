"""`neuromfa delete model NAME | graph GID | analysis AID [--yes]`: remove it with everything
under it, after saying what will go and asking (unless --yes)."""

from __future__ import annotations

import typer

from neuromfa import api
from neuromfa.cli.common import cli_store
from neuromfa.cli.console import console, err_console
from neuromfa.store.deletes import Target

delete_app = typer.Typer(help="Delete a model, a graph or an analysis with everything under it.", no_args_is_help=True)

YES_HELP = "Delete without asking."


def _delete(target: Target, key: str, yes: bool) -> None:
    with cli_store() as store:
        plan = api.delete_plan(target, key, store=store)
        console.print(f"delete {target} {key}: {plan.removes.summary()}")
        if not yes and not typer.confirm("delete it?", default=False):
            console.print("nothing deleted")
            raise typer.Exit(1)
        progress = (lambda gid, r: err_console.print(f"  deleted {gid}")) if target == "model" and len(plan.gids) > 1 else None
        removed = api.delete(target, key, on_graph=progress, store=store)
    console.print(f"removed {removed.summary()}")


@delete_app.command("model")
def delete_model(name: str = typer.Argument(..., help="Model name (as ingested)."),
                 yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP)) -> None:
    """A model: its checkpoints, every graph (neurons, synapses), analyses and jobs."""
    _delete("model", name, yes)


@delete_app.command("graph")
def delete_graph(gid: str = typer.Argument(..., help="Graph id (`neuromfa graphs` lists them)."),
                 yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP)) -> None:
    """One graph: its neurons, synapses, analyses and jobs (its checkpoint stays)."""
    _delete("graph", gid, yes)


@delete_app.command("analysis")
def delete_analysis(aid: str = typer.Argument(..., help="Analysis id (`neuromfa results -m MODEL --all -f csv` lists them)."),
                    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP)) -> None:
    """One analysis: its MEASURED edges and jobs (the graph's headline moves to its newest other analysis)."""
    _delete("analysis", aid, yes)


def register(app: typer.Typer) -> None:
    app.add_typer(delete_app, name="delete")
