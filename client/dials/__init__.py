"""runql's DIALS client: the runql filter language over DIALS, sync and async, with DIALS credentials.

>>> from client.dials import Dials, SecretKey
>>> Dials(target="production")
Traceback (most recent call last):
...
client.errors.ConfigError: DIALS needs credentials: SecretKey(...), ClientCredentials(client_id, secret) or \
DeviceLogin() (runql login); target='embedded' needs none
"""

from client.dials.api import PRODUCTION_URL, AsyncDials, Dials
from client.dials.auth import ClientCredentials, DeviceLogin, DialsCredentials, Keycloak, SecretKey
from client.dials.frames import DialsRecords
from client.dials.listing import DialsResume

__all__ = [
    "PRODUCTION_URL",
    "AsyncDials",
    "ClientCredentials",
    "DeviceLogin",
    "Dials",
    "DialsCredentials",
    "DialsRecords",
    "DialsResume",
    "Keycloak",
    "SecretKey",
]
