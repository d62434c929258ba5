#!/usr/bin/env python3
"""The peer in the collect benchmark: Microsoft's Graph SDK for Python paging every user of the
simulated tenant with its PageIterator, the way its documentation shows
(https://learn.microsoft.com/graph/sdks/paging), with the same $select and $top=999 that
`entra-audit collect` sends. Prints one JSON line: users, seconds, peak RSS (MiB).

    python3 tests/bench/msgraph_sdk_users.py BASE_URL TENANT CLIENT   (secret in AZURE_CLIENT_SECRET)

azure-identity refuses a plain-http authority, so a minimal TokenCredential does the documented
client-credentials request (as tests/interop/msgraph_sdk_check.py explains); all Graph paging,
retry and throttling handling is the SDK's own (its default middleware honours Retry-After).
"""

import asyncio
import json
import os
import resource
import sys
import time

import httpx
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.tasks.page_iterator import PageIterator

SELECT = ("id,displayName,userPrincipalName,mail,mailNickname,proxyAddresses,onPremisesImmutableId,"
          "onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesDistinguishedName,"
          "onPremisesSamAccountName,onPremisesDomainName,onPremisesSecurityIdentifier,"
          "onPremisesUserPrincipalName,onPremisesProvisioningErrors,createdDateTime,accountEnabled,"
          "userType").split(",")


class ClientSecretOverHttp:
    def __init__(self, base: str, tenant: str, client: str, secret: str):
        self.url = f"{base}/{tenant}/oauth2/v2.0/token"
        self.client, self.secret = client, secret

    async def get_token(self, *scopes, **_kwargs) -> AccessToken:
        async with httpx.AsyncClient() as http:
            r = await http.post(self.url, data={"grant_type": "client_credentials",
                                                "client_id": self.client,
                                                "client_secret": self.secret,
                                                "scope": " ".join(scopes)})
        r.raise_for_status()
        body = r.json()
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))

    async def close(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_):
        pass


async def page_users(base: str, tenant: str, client_id: str) -> int:
    credential = ClientSecretOverHttp(base, tenant, client_id, os.environ["AZURE_CLIENT_SECRET"])
    client = GraphServiceClient(credentials=credential, scopes=[f"{base}/.default"])
    client.request_adapter.base_url = f"{base}/v1.0"
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=SELECT, top=999)
    first = await client.users.get(
        request_configuration=RequestConfiguration(query_parameters=query))
    count = 0

    def seen(_user) -> bool:
        nonlocal count
        count += 1
        return True

    await PageIterator(first, client.request_adapter).iterate(seen)
    return count


def main() -> None:
    base, tenant, client_id = sys.argv[1:4]
    started = time.monotonic()
    users = asyncio.run(page_users(base, tenant, client_id))
    seconds = time.monotonic() - started
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"users": users, "seconds": round(seconds, 1), "peak_rss_mib": round(rss_mib)}))


if __name__ == "__main__":
    main()
