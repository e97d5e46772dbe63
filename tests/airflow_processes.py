"""Airflow's components as local processes: the docker-compose topology without Docker.

``AirflowTopology`` gives one Airflow its own ``AIRFLOW_HOME`` (in a temporary folder),
a metadata database on PostgreSQL, an API server on a free port (Airflow 3's workers
and the LocalExecutor's task supervisors talk to its execution API), a scheduler, a
dag-processor and, with ``executor="CeleryExecutor"``, Celery workers on a Redis
broker, each started in its own process group and all killed at ``stop()``. Every
component's output goes to ``<root>/logs/<name>.log``; ``tail_logs()`` prints the
ends of them for a failing test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The test runner's environment without its Airflow and Grassroots settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GRASSROOTS_", "AIRFLOW_", "AIRFLOW__"))
    }
    env.update(extra)
    return env


class AirflowTopology:
    def __init__(
        self,
        root: Path,
        metadata_url: str,
        grassroots_env: dict[str, str],
        executor: str = "LocalExecutor",
        broker_url: str | None = None,
        parallelism: int = 2,
    ) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.metadata_url = metadata_url
        self.port = free_port()
        self.queue = f"grassroots_test_{uuid.uuid4().hex[:8]}"  # no stray worker takes ours
        home = root / "airflow_home"
        plugins = root / "plugins"  # none: the review plugin is not on trial here
        plugins.mkdir(exist_ok=True)
        env = clean_env(
            **grassroots_env,
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
            AIRFLOW__CORE__PLUGINS_FOLDER=str(plugins),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR=executor,
            AIRFLOW__CORE__PARALLELISM=str(parallelism),
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{self.port}/execution/",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_url,
            # psycopg 3 is async too: without this Airflow would want asyncpg
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=metadata_url,
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API__SECRET_KEY=uuid.uuid4().hex,
            AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=self.queue,
            # fast turns, so that a test waits seconds rather than minutes
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC="1",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC="2",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="2",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="True",
            AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(free_port()),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="30",
            AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="1",
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(root / "task_logs"),
        )
        if executor == "CeleryExecutor":
            assert broker_url, "CeleryExecutor needs a broker"
            env.update(
                AIRFLOW__CELERY__BROKER_URL=broker_url,
                AIRFLOW__CELERY__RESULT_BACKEND="db+" + metadata_url.replace("+psycopg", ""),
                AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
                AIRFLOW__CELERY__SYNC_PARALLELISM="1",
                AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL="True",
            )
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    # -- commands ---------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        """Run ``airflow <args>`` to completion; its output, logged in cli.log."""
        log = self.logs / "cli.log"
        result = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        with log.open("a") as out:
            out.write(f"\n$ airflow {' '.join(args)}\n{result.stdout}{result.stderr}")
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """Start ``airflow <args>`` in a process group of its own, output in <name>.log."""
        out = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [AIRFLOW, *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
        self.processes[name] = process
        return process

    def start_core(self) -> None:
        """Migrate the metadata DB, then start the API server, scheduler and dag-processor."""
        self.cli("db", "migrate", timeout=600)
        self.start("api-server", "api-server", "--port", str(self.port), "--host", "127.0.0.1")
        self.start("scheduler", "scheduler")
        self.start("dag-processor", "dag-processor")
        self.wait_for(self._api_is_up, 180, "the API server to answer")

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.start(
            name,
            "celery", "worker",
            "--concurrency", "1",
            "--celery-hostname", f"{name}@%h",
            "--queues", self.queue,
            "--without-mingle", "--without-gossip",
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a component's whole process group (the worker and its task processes)."""
        process = self.processes[name]
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                self.kill(name, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in self.processes.items():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self.kill(name, signal.SIGKILL)  # and any child left in its group
            process.wait(10)

    # -- waiting and looking ----------------------------------------------------------

    def _api_is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def wait_for(self, predicate: Callable[[], object], timeout: float, what: str,
                 every: float = 2) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None and not name.startswith("w"):
                    raise RuntimeError(f"{name} exited {process.returncode}\n{self.tail_logs()}")
            value = predicate()
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}\n{self.tail_logs()}")

    def query(self, sql: str, **params: object) -> list[sa.Row]:
        engine = sa.create_engine(self.metadata_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql), params).all()
        finally:
            engine.dispose()

    def wait_until_parsed(self, *dag_ids: str, timeout: float = 180) -> None:
        def parsed() -> bool:
            rows = self.query("select dag_id from serialized_dag")
            return set(dag_ids) <= {r.dag_id for r in rows}

        self.wait_for(parsed, timeout, f"the dag-processor to serialise {dag_ids}")

    def run_states(self, dag_id: str) -> dict[str, str]:
        """run_id -> state of the DAG's runs."""
        rows = self.query("select run_id, state from dag_run where dag_id = :d", d=dag_id)
        return {r.run_id: r.state for r in rows}

    def wait_for_runs(self, dag_id: str, count: int, timeout: float,
                      run_ids: set[str] | None = None) -> dict[str, str]:
        """Wait until ``count`` runs (other than ``run_ids``) are finished; fail on a failed one."""
        seen = set(run_ids or ())

        def finished() -> dict[str, str] | None:
            states = {k: v for k, v in self.run_states(dag_id).items() if k not in seen}
            failed = [k for k, v in states.items() if v == "failed"]
            if failed:
                raise AssertionError(f"{dag_id} runs failed: {failed}\n{self.failed_tasks()}"
                                     f"\n{self.tail_logs()}")
            done = {k: v for k, v in states.items() if v == "success"}
            return done if len(done) >= count else None

        return self.wait_for(finished, timeout, f"{count} successful runs of {dag_id}")

    def failed_tasks(self) -> str:
        rows = self.query(
            "select dag_id, run_id, task_id, map_index, state, try_number, hostname "
            "from task_instance where state not in ('success', 'skipped')"
        )
        return "\n".join(str(tuple(r)) for r in rows)

    def tail_logs(self, lines: int = 40) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"----- {log.name} (last {lines} lines)\n" + "\n".join(text))
        return "\n".join(parts)

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")
