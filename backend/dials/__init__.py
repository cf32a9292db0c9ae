"""The DIALS stand-in: a synthetic, DIALS-compatible service mounted by ``runql serve`` under ``/dials/``.

``cmsdials`` 2.4.1 works against it with ``Dials(creds, base_url="http://127.0.0.1:<port>/dials/")``.
"""

from backend.dials.app import create_dials_app
from backend.dials.data import DEFAULT_WORKSPACE, WORKSPACES, DialsUniverse
from backend.dials.keycloak import DialsAuth, Keycloak

__all__ = [
    "DEFAULT_WORKSPACE",
    "WORKSPACES",
    "DialsAuth",
    "DialsUniverse",
    "Keycloak",
    "create_dials_app",
]
