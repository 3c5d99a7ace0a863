"""``mar kserve``: run ``.mar`` archives on KServe where its TorchServe runtime was."""

from __future__ import annotations

from typing import Any

import click

from mar_tools.core.errors import ExitCode
from mar_tools.terminal.help import HelpCommand, HelpGroup


@click.group(
    "kserve",
    cls=HelpGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Manifests for serving archives on KServe with mar serve.",
    examples=(
        (
            "mar kserve manifests --image IMAGE --storage-uri gs://b/m | kubectl apply -f -",
            "deploy on KServe",
        ),
    ),
    epilog="\b\nDocs: https://github.com/mar-tools/mar-tools/blob/main/docs/scale.md",
)
def command() -> None:
    """Serve TorchServe model archives on KServe with ``mar serve --kserve``."""


@command.command(
    "manifests",
    cls=HelpCommand,
    examples=(
        (
            "mar kserve manifests --image IMAGE --storage-uri gs://b/m | kubectl apply -f -",
            "a ServingRuntime and an InferenceService",
        ),
    ),
)
@click.option("--image", required=True, metavar="IMAGE", help="The runtime image (Dockerfile).")
@click.option(
    "--storage-uri",
    required=True,
    metavar="URI",
    help="Where KServe finds the model: a store laid out as config/ + model-store/, or one "
    "archive.",
)
@click.option("--protocol", type=click.Choice(["v1", "v2"]), default="v1", show_default=True)
@click.option("--name", metavar="NAME", help="The InferenceService's name (default: from URI).")
@click.option("--runtime-name", default="mar-tools", show_default=True, metavar="NAME")
@click.option(
    "--cluster", is_flag=True, help="A ClusterServingRuntime instead of a ServingRuntime."
)
def manifests(**params: Any) -> int:
    """Print a ServingRuntime and an InferenceService (YAML, for kubectl apply -f -)."""
    import yaml

    from mar_tools.serve.kserve_manifests import ManifestOptions
    from mar_tools.serve.kserve_manifests import manifests as build

    documents = build(ManifestOptions(**params))
    click.echo(yaml.safe_dump_all(documents, sort_keys=False), nl=False)
    return int(ExitCode.OK)
