"""Real servers on 127.0.0.1 for the integration test: PostgreSQL, an S3 server (moto), MLflow, Prefect.

Every process is started in its own session (process group) and registered with a `Services` object,
which stops them all (SIGTERM, then SIGKILL) and reports any process still alive afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from tests.helpers.project_copy import BIN, free_port

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def wait_http(url: str, proc: subprocess.Popen | None, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:  # answering, if only to refuse (401 from an authenticated server)
            if exc.code < 500:
                return
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{what} not answering at {url} after {timeout} s")


def postgres_bin(name: str) -> str:
    """`initdb`/`pg_ctl` from PATH, else from Debian's versioned folder."""
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        raise FileNotFoundError(f"{name} not found: install PostgreSQL (apt-get install -y postgresql)")
    return str(found)


class Services:
    """Starts processes, remembers them, and stops every one of them."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg_data: Path | None = None

    def start(self, name: str, cmd: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    # --- PostgreSQL ------------------------------------------------------------------------------------
    def postgres(self) -> str:
        """A throwaway cluster on 127.0.0.1 with a database `mlflow`; returns its SQLAlchemy URI."""
        port = free_port()
        # Not under pytest's 0700 temp folder: the server runs as the `postgres` user when we are root.
        folder = Path(tempfile.mkdtemp(prefix="betavae-pg-"))
        self.pg_data = folder / "data"
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            os.chmod(folder, 0o755)
            as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*as_user, postgres_bin("initdb"), "-D", str(self.pg_data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *as_user,
                postgres_bin("pg_ctl"),
                "-D",
                str(self.pg_data),
                "-w",
                "-t",
                "60",
                "-l",
                str(folder / "server.log"),
                "-o",
                f"-h 127.0.0.1 -p {port} -k {folder} -F",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        self._pg_user = as_user
        uri = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
        import sqlalchemy

        engine = sqlalchemy.create_engine(uri, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("CREATE DATABASE mlflow"))
        engine.dispose()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"

    def stop_postgres(self) -> None:
        if self.pg_data is not None and (self.pg_data / "postmaster.pid").exists():
            subprocess.run(
                [*self._pg_user, postgres_bin("pg_ctl"), "-D", str(self.pg_data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        if self.pg_data is not None and not (self.pg_data / "postmaster.pid").exists():
            shutil.rmtree(self.pg_data.parent, ignore_errors=True)

    # --- S3 (moto server) -------------------------------------------------------------------------------
    def s3(self, env: dict[str, str], cwd: Path, buckets: list[str]) -> str:
        port = free_port()
        proc = self.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env=env, cwd=cwd)
        endpoint = f"http://127.0.0.1:{port}"
        wait_http(f"{endpoint}/moto-api/", proc, 60, "moto server")
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)
        return endpoint

    # --- MLflow and Prefect servers ----------------------------------------------------------------------
    def mlflow(
        self, backend: str, artifacts: str, env: dict[str, str], cwd: Path, auth: dict[str, str] | None = None
    ) -> str:
        """`mlflow server` on 127.0.0.1; the backend URI (which may hold a password) goes in its environment,
        not its command line. `auth` (MLFLOW_AUTH_CONFIG_PATH, MLFLOW_AUTH_ADMIN_PASSWORD,
        MLFLOW_FLASK_SERVER_SECRET_KEY) starts it with
        `--app-name basic-auth` and `--allowed-hosts` for its own address only."""
        port = free_port()
        extra = ["--app-name", "basic-auth", "--allowed-hosts", f"127.0.0.1:{port}"] if auth else []
        proc = self.start(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "server",
                *extra,
                "--artifacts-destination",
                artifacts,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env | {"MLFLOW_BACKEND_STORE_URI": backend} | (auth or {}),
            cwd=cwd,
        )
        uri = f"http://127.0.0.1:{port}"
        wait_http(f"{uri}/health", proc, 180, "mlflow server")
        return uri

    def prefect(self, env: dict[str, str], cwd: Path) -> str:
        port = free_port()
        proc = self.start(
            "prefect-server",
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=cwd,
        )
        api = f"http://127.0.0.1:{port}/api"
        wait_http(f"{api}/health", proc, 180, "prefect server")
        return api

    # --- teardown ----------------------------------------------------------------------------------------
    def stop_all(self) -> list[str]:
        """Stop every process (its whole group) and PostgreSQL; return the names of any still alive."""
        for proc in reversed(list(self.procs.values())):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 20
        ignored_sigterm = []
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                ignored_sigterm.append(name)
        if ignored_sigterm:  # not a failure, but it costs the suite 20 s: say who, so it can be fixed
            warnings.warn(f"still running 20 s after SIGTERM, killed: {', '.join(ignored_sigterm)}", stacklevel=2)
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.stop_postgres()
        time.sleep(0.5)
        alive = [name for name, proc in self.procs.items() if _group_alive(proc.pid)]
        if self.pg_data is not None and (self.pg_data / "postmaster.pid").exists():
            alive.append("postgres")
        return alive


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is alive (zombies do not count)."""
    out = subprocess.run(["ps", "-eo", "pgid=,stat="], capture_output=True, text=True, check=False).stdout
    return any(
        int(g) == pgid and not stat.startswith("Z")
        for g, stat in (line.split()[:2] for line in out.splitlines() if line.strip())
    )


def processes_under(folder: Path) -> list[str]:
    """Live processes whose working directory lies inside `folder` (what a test left running there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if stat != "Z" and (cwd == folder or folder in cwd.parents):
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command[:200]}")
    return found
