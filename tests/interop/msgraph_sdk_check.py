#!/usr/bin/env python3
"""Microsoft's own Graph SDK for Python against `entra-audit simulate`.

Proves that the simulated tenant is faithful enough for a real Graph client: msgraph-sdk's
PageIterator pages every user (following @odata.nextLink as Graph returns it, with $select and
$top), and the SDK reads a Cloud Sync synchronization job through its typed request builders.

    pip install msgraph-sdk
    python3 tests/interop/msgraph_sdk_check.py [--bin target/debug/entra-audit] [--users 2500]

The token comes from the simulator's token endpoint (client credentials, as Entra issues them).
azure-identity's credentials refuse an authority that is not https
("The value must be a TLS protected (https) URL"), and the simulator serves plain http on
loopback, so a minimal async TokenCredential does the documented client-credentials request
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow) itself.
Everything Graph-facing is the SDK's own code.
"""

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time

import httpx
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.tasks.page_iterator import PageIterator

TENANT = "0785ef7c-2222-4a2b-9c3d-5e6f7a8b9c0d"
CLIENT = "6f1b3c5d-3333-4e8f-9a0b-1c2d3e4f5a6b"
SECRET = "simulator-secret-not-a-real-credential"
CLOUD_SYNC_APP_ID = "1a4721b3-e57f-4451-ae87-ef078703ec94"


class SimulatorCredential:
    """An async azure-core TokenCredential doing client credentials against the simulator."""

    def __init__(self, base_url: str):
        self.token_url = f"{base_url}/{TENANT}/oauth2/v2.0/token"

    async def get_token(self, *scopes, **_kwargs) -> AccessToken:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT,
                    "client_secret": SECRET,
                    "scope": " ".join(scopes),
                },
            )
        response.raise_for_status()
        body = response.json()
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))

    async def close(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_):
        pass


def start_simulator(binary: str, users: int, workdir: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [binary, "simulate", "--users", str(users), "--contacts", "50", "--groups", "50",
         "--seed", "11", "--listen", "127.0.0.1:0", "--latency", "0", "--throttle", "off",
         "--tenant-id", TENANT, "--client-id", CLIENT, "--client-secret", SECRET,
         "--write-onprem", workdir],
        stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    sys.exit("simulator did not say it was listening")


async def check(base_url: str, expected_users: int) -> None:
    client = GraphServiceClient(credentials=SimulatorCredential(base_url),
                                scopes=[f"{base_url}/.default"])
    client.request_adapter.base_url = f"{base_url}/v1.0"

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        select=["id", "userPrincipalName", "onPremisesImmutableId", "onPremisesSyncEnabled",
                "proxyAddresses"],
        top=999)
    first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
    seen = []

    def collect(user) -> bool:
        seen.append(user)
        return True

    iterator = PageIterator(first, client.request_adapter)
    await iterator.iterate(collect)
    ids = {u.id for u in seen}
    print(f"msgraph-sdk PageIterator: {len(seen)} users, {len(ids)} distinct")
    assert len(ids) == len(seen), "a user was returned twice"
    assert len(seen) == expected_users, f"expected {expected_users} users, the SDK saw {len(seen)}"
    assert any(u.on_premises_immutable_id for u in seen), "no $select-only property came back"

    sps = await client.service_principals.get()
    cloud_sync = [sp for sp in sps.value if sp.app_id == CLOUD_SYNC_APP_ID]
    assert cloud_sync, "no Cloud Sync service principal"
    sp = cloud_sync[0]
    jobs = await client.service_principals.by_service_principal_id(sp.id).synchronization.jobs.get()
    assert jobs.value, "no synchronization job"
    job = await (client.service_principals.by_service_principal_id(sp.id)
                 .synchronization.jobs.by_synchronization_job_id(jobs.value[0].id).get())
    print(f"msgraph-sdk synchronization job: {job.id} status {job.status.code} "
          f"(configuration {sp.display_name})")
    assert job.status.code is not None


async def run(base_url: str) -> None:
    # How many users there are, asked the documented way ($count needs ConsistencyLevel), so the
    # SDK's paging is checked against the server's own number.
    token = await SimulatorCredential(base_url).get_token(f"{base_url}/.default")
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base_url}/v1.0/users/$count",
                                  headers={"Authorization": f"Bearer {token.token}",
                                           "ConsistencyLevel": "eventual"})
    response.raise_for_status()
    await check(base_url, int(response.text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="target/debug/entra-audit")
    parser.add_argument("--users", type=int, default=2500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        process, base_url = start_simulator(args.bin, args.users, workdir)
        try:
            asyncio.run(run(base_url))
        finally:
            process.terminate()
            process.wait(timeout=10)
    print("ok: msgraph-sdk paged every user and read a synchronization job from the simulator")


if __name__ == "__main__":
    main()
