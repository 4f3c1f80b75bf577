"""DA201 blocking-call-in-trigger: a trigger's ``run`` makes a call that blocks the event loop."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, is_trigger, own_classes

_ADVICE = {
    "sleep": "use `await asyncio.sleep(...)`",
    "http": "use an async client (aiohttp, `httpx.AsyncClient`, or the provider's async hook "
    "such as `HttpAsyncHook`)",
    "file": "run it in a thread (`await asyncio.to_thread(...)`) or use aiofiles",
    "subprocess": "use `await asyncio.create_subprocess_exec(...)`",
    "db": "use an async driver (asyncpg, aiomysql, ...) or `await asyncio.to_thread(...)`",
    "boto3": "use an async client (aiobotocore, e.g. an Amazon hook's `async_conn`)",
    "connection": "fetch it off the loop: `await asyncio.to_thread(BaseHook.get_connection, "
    "conn_id)` (or let an async hook read it)",
    "variable": "read it off the loop (`await asyncio.to_thread(Variable.get, key)`) or pass "
    "the value to the trigger when deferring",
    "hook": "use the provider's async hook, or `await asyncio.to_thread(hook.method, ...)`",
}
_WHAT = {
    "sleep": "a blocking sleep",
    "http": "synchronous HTTP",
    "file": "synchronous file I/O",
    "subprocess": "a subprocess it waits for",
    "db": "a synchronous database driver",
    "boto3": "a synchronous boto3 client",
    "connection": "a synchronous connection lookup (metadata DB or secrets backend)",
    "variable": "a synchronous Variable lookup (metadata DB or secrets backend)",
    "hook": "a synchronous hook method",
}


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        if not code.run_blocking or not is_trigger(ctx, cls):
            continue
        for call in code.run_blocking:
            via = f" through `{call.via}()` (line {call.line})" if call.via else ""
            what = (
                ".".join(call.what.split(".")[-2:])
                if call.what.startswith("airflow.")
                else call.what
            )
            yield class_finding(
                rule,
                ctx,
                cls,
                call.span,
                f"`{cls.name}.run` calls `{what}`{via}, {_WHAT[call.kind]}: it blocks "
                "the triggerer's event loop and stalls every trigger on that triggerer; "
                f"{_ADVICE[call.kind]}",
            )


RULE = Rule(
    code="DA201",
    name="blocking-call-in-trigger",
    severity="error",
    summary="A trigger's run() blocks the triggerer's event loop",
    what="""
Finds blocking calls in a trigger's `async def run()` and in the functions of the same module
it calls (its own methods and module-level helpers, sync or async): `time.sleep`, `requests` /
`urllib` / `httpx` sync calls, `open()` and other file I/O, `subprocess`, sync database
drivers, boto3 clients, `BaseHook.get_connection`, `Variable.get`, and methods of a sync
provider hook (`HttpHook(...).run(...)`) that are not awaited. Calls handed to a thread
(`await asyncio.to_thread(fn, ...)`, `loop.run_in_executor(None, fn)`) are not calls made on
the loop and are not reported.
""",
    why="""
All triggers of a triggerer share one asyncio event loop. A call that blocks it stops every
other trigger (up to `[triggerer] capacity`, 1000 by default) until it returns; Airflow only
logs a warning when it notices. deferring.rst: "The run method must be asynchronous (using
Python's asyncio), and correctly await whenever it does a blocking operation."
""",
    example="""
class JobTrigger(BaseTrigger):
    async def run(self):
        while True:
            state = requests.get(f"{self.url}/jobs/{self.job_id}").json()["state"]
            if state == "DONE":
                yield TriggerEvent({"state": state})
                return
            time.sleep(30)
""",
    use_instead="""
class JobTrigger(BaseTrigger):
    async def run(self):
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(f"{self.url}/jobs/{self.job_id}") as response:
                    state = (await response.json())["state"]
                if state == "DONE":
                    yield TriggerEvent({"state": state})
                    return
                await asyncio.sleep(30)
""",
    fix_safety="No fix: the async replacement depends on the library (the message names one).",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
import asyncio
from airflow.triggers.base import BaseTrigger, TriggerEvent

def fetch_state(job_id):
    import requests
    return requests.get(f"https://api/jobs/{job_id}").json()["state"]

class JobTrigger(BaseTrigger):
    def __init__(self, job_id):
        super().__init__()
        self.job_id = job_id

    def serialize(self):
        return ("example_dag.JobTrigger", {"job_id": self.job_id})

    async def run(self):
        while True:
            state = await asyncio.to_thread(fetch_state, self.job_id)
            if state == "DONE":
                yield TriggerEvent({"state": state})
                return
            await asyncio.sleep(30)
""",
            count=0,
            note="the sync helper runs in a thread, and the sleep is awaited",
        ),
        Example(
            """
import time
from airflow.providers.http.hooks.http import HttpAsyncHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

class NotATrigger:
    async def run(self):
        time.sleep(1)

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    async def run(self):
        hook = HttpAsyncHook(method="GET", http_conn_id="api")
        response = await hook.run(endpoint="jobs/1")
        yield TriggerEvent(await response.json())
""",
            count=0,
            note="an async hook's awaited call; a class that is no trigger",
        ),
    ),
    invalid=(
        Example(
            """
import time
import requests
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    async def run(self):
        while True:
            state = requests.get("https://api/jobs/1").json()["state"]
            if state == "DONE":
                yield TriggerEvent({"state": state})
                return
            time.sleep(30)
""",
            count=2,
        ),
        Example(
            """
from airflow.hooks.base import BaseHook
from airflow.providers.http.hooks.http import HttpHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    def _token(self):
        return BaseHook.get_connection("api").password

    async def run(self):
        token = self._token()
        hook = HttpHook(method="GET", http_conn_id="api")
        response = hook.run(endpoint="jobs/1", headers={"Authorization": token})
        yield TriggerEvent(response.json())
""",
            count=2,
            note="a sync helper of the same class, and a sync hook's method",
        ),
    ),
)
