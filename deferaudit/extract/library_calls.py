"""Library calls by import path: those that block an event loop, and those whose result a
trigger cannot carry (Airflow serializes a trigger's arguments)."""

from __future__ import annotations

# Calls that block an asyncio event loop, by import path: (what kind of I/O, short name).
# Names come from the libraries themselves (their sync entry points); async variants
# (``httpx.AsyncClient``, ``redis.asyncio``, ``aiohttp``, ``aiobotocore``) are not listed.
BLOCKING_CALLS: dict[str, str] = {
    "time.sleep": "sleep",
    "urllib.request.urlopen": "http",
    "urllib3.request": "http",
    "urllib3.PoolManager": "http",
    "http.client.HTTPConnection": "http",
    "http.client.HTTPSConnection": "http",
    "socket.create_connection": "http",
    "subprocess.run": "subprocess",
    "subprocess.call": "subprocess",
    "subprocess.check_call": "subprocess",
    "subprocess.check_output": "subprocess",
    "subprocess.Popen": "subprocess",
    "subprocess.getoutput": "subprocess",
    "subprocess.getstatusoutput": "subprocess",
    "os.system": "subprocess",
    "os.popen": "subprocess",
    "io.open": "file",
    "codecs.open": "file",
    "os.listdir": "file",
    "os.scandir": "file",
    "os.walk": "file",
    "glob.glob": "file",
    "shutil.copy": "file",
    "shutil.copy2": "file",
    "shutil.copyfile": "file",
    "shutil.copytree": "file",
    "shutil.move": "file",
    "shutil.rmtree": "file",
    "psycopg2.connect": "db",
    "psycopg.connect": "db",
    "pymysql.connect": "db",
    "MySQLdb.connect": "db",
    "mysql.connector.connect": "db",
    "sqlite3.connect": "db",
    "cx_Oracle.connect": "db",
    "oracledb.connect": "db",
    "pyodbc.connect": "db",
    "pymssql.connect": "db",
    "snowflake.connector.connect": "db",
    "redshift_connector.connect": "db",
    "sqlalchemy.create_engine": "db",
    "pymongo.MongoClient": "db",
    "redis.Redis": "db",
    "redis.StrictRedis": "db",
    "redis.from_url": "db",
    "boto3.client": "boto3",
    "boto3.resource": "boto3",
    "boto3.Session": "boto3",
    "boto3.session.Session": "boto3",
    # Airflow's own sync accessors: each is a metadata-DB or secrets-backend round trip.
    "airflow.hooks.base.BaseHook.get_connection": "connection",
    "airflow.hooks.base_hook.BaseHook.get_connection": "connection",
    "airflow.sdk.BaseHook.get_connection": "connection",
    "airflow.sdk.bases.hook.BaseHook.get_connection": "connection",
    "airflow.models.Connection.get_connection_from_secrets": "connection",
    "airflow.models.connection.Connection.get_connection_from_secrets": "connection",
    "airflow.sdk.Connection.get": "connection",
    "airflow.sdk.definitions.connection.Connection.get": "connection",
    "airflow.models.Variable.get": "variable",
    "airflow.models.variable.Variable.get": "variable",
    "airflow.sdk.Variable.get": "variable",
    "airflow.sdk.definitions.variable.Variable.get": "variable",
}
for _verb in ("get", "post", "put", "patch", "delete", "head", "options", "request"):
    BLOCKING_CALLS[f"requests.{_verb}"] = "http"
    BLOCKING_CALLS[f"httpx.{_verb}"] = "http"
for _name in ("Session", "session"):
    BLOCKING_CALLS[f"requests.{_name}"] = "http"
    BLOCKING_CALLS[f"requests.sessions.{_name}"] = "http"
BLOCKING_CALLS["httpx.Client"] = "http"
BLOCKING_CALLS["httpx.stream"] = "http"
# pathlib's file methods, recognised by name on any receiver when not awaited.
PATH_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
# Calls that make a value Airflow cannot serialize as a trigger argument.
RESOURCE_CALLS: dict[str, str] = {
    "boto3.client": "a boto3 client",
    "boto3.resource": "a boto3 resource",
    "boto3.Session": "a boto3 session",
    "boto3.session.Session": "a boto3 session",
    "requests.Session": "a requests session",
    "requests.session": "a requests session",
    "httpx.Client": "an httpx client",
    "httpx.AsyncClient": "an httpx client",
    "aiohttp.ClientSession": "an aiohttp session",
    "io.open": "an open file",
    "codecs.open": "an open file",
    "tempfile.NamedTemporaryFile": "an open file",
    "tempfile.TemporaryFile": "an open file",
    "threading.Lock": "a lock",
    "threading.Event": "a threading event",
    "asyncio.Event": "an asyncio event",
}
for _path, _kind in BLOCKING_CALLS.items():
    if _kind == "db" and _path not in RESOURCE_CALLS:
        RESOURCE_CALLS[_path] = "a database connection"
