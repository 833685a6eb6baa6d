"""`connections_cli validate-spec FILE` (a generic app's spec, offline) and the spec file
`create --spec-file` reads as the connection's settings."""

import argparse
from pathlib import Path
from typing import Any, TextIO

from ghlsync.connections_cli.common import CliError


def spec_file_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The spec file's content (validated with the rest of the settings), or {} without one."""
    if args.spec_file is None:
        return {}
    from ghlsync.apps.rest.loading import SpecInvalid, read_spec_file

    try:
        return read_spec_file(args.spec_file)
    except SpecInvalid as error:
        raise CliError("\n  ".join(["invalid spec file:", *error.problems])) from error


def validate_spec(path: Path, out: TextIO) -> None:
    """Check a spec file offline; every problem at once (CliError), or a summary of what it does."""
    from ghlsync.apps.rest.inbound import capabilities_for
    from ghlsync.apps.rest.loading import SpecInvalid, load_spec_file

    try:
        spec = load_spec_file(path)
    except SpecInvalid as error:
        raise CliError("\n  ".join([f"{path}: {len(error.problems)} problem(s)", *error.problems])) from error
    declared = capabilities_for(spec)
    out.write(f"{path}: ok ({spec.name})\n")
    for kind, support in declared.entities.items():
        operations = ", ".join(sorted(op.value for op in support.operations))
        out.write(f"  {kind.value}: {support.flow.value}; {operations}\n")
    out.write(f"  tags: {declared.tags.writes.value}\n")
    inbound = [
        name
        for name, on in (("webhooks", declared.inbound.webhooks), ("polling", declared.inbound.feed))
        if on
    ]
    out.write(f"  inbound: {', '.join(inbound) or 'none (the app is only written to)'}\n")
