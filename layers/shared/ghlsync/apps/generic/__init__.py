"""The generic connector: any REST app, described by a spec file (`ghlsync.apps.rest`)."""

from ghlsync.apps.generic.spec import SPEC

__all__ = ["SPEC"]
