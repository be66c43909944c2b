"""The two programs the live checks need, started on loopback ports in a scratch folder: the real
snackdrawer binary (built with cargo unless SNACKDRAWER_BIN names one) on the memory store, and
Prometheus scraping it and evaluating ops/prometheus/rules.yml every SCRAPE_INTERVAL, with
exemplar storage on as in the compose stack. Each start waits until the program answers, or
exits with its log.
"""

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from . import ROOT, RULES
from .tools import promtool

SCRAPE_INTERVAL = "1s"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snackdrawer_binary():
    if os.environ.get("SNACKDRAWER_BIN"):
        return Path(os.environ["SNACKDRAWER_BIN"]).resolve()
    if subprocess.run(["cargo", "build", "--quiet", "--bin", "snackdrawer"], cwd=ROOT).returncode:
        raise SystemExit("ops/verify: cargo build failed")
    # cargo reads a relative CARGO_TARGET_DIR from where it runs: ROOT.
    return ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "snackdrawer"


def load_binary():
    """snackdrawer-load (the workspace's load/ package), built with cargo unless
    SNACKDRAWER_LOAD_BIN names one."""
    if os.environ.get("SNACKDRAWER_LOAD_BIN"):
        return Path(os.environ["SNACKDRAWER_LOAD_BIN"]).resolve()
    if subprocess.run(["cargo", "build", "--quiet", "-p", "snackdrawer-load"], cwd=ROOT).returncode:
        raise SystemExit("cargo build -p snackdrawer-load failed")
    return ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "snackdrawer-load"


def start_snackdrawer(binary, workdir, extra_env=None, name="snackdrawer"):
    """The binary on a loopback port with the memory store; `extra_env` adds to (or overrides)
    its settings, and its log is `name`.log in `workdir` (appended to, so a replica started
    again keeps one log). Returns the process and its base URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "SNACKDRAWER_", "DATABASE_URL"))
    }
    env.update(
        SNACKDRAWER_LISTEN="127.0.0.1:0",
        DATABASE_URL="memory",
        SNACKDRAWER_JWT_SECRET=secrets.token_hex(32),
        SNACKDRAWER_SCRYPT_LOG_N="4",  # cheap hashes: the point is that they are counted
        SNACKDRAWER_LOG_FORMAT="json",
        SNACKDRAWER_SHUTDOWN_GRACE="1",
        # The traffic and snackdrawer-load sign users up and log in from this one address,
        # faster than the per-address login limit allows.
        SNACKDRAWER_LOGIN_LIMITS="false",
        # Trace every request, as the compose stack does (it exports to its collector); with no
        # endpoint and no sampler named, nothing would be traced and no exemplar recorded.
        OTEL_TRACES_SAMPLER="always_on",
    )
    env.update(extra_env or {})
    log = workdir / f"{name}.log"
    start = log.stat().st_size if log.exists() else 0
    process = subprocess.Popen([binary], env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_bytes()[start:].decode(errors="replace").splitlines():
            if '"address"' in line:
                return process, "http://" + json.loads(line)["address"]
        time.sleep(0.1)
    stop(process)
    raise SystemExit(f"snackdrawer did not start; its log:\n{log.read_text()}")


def start_prometheus(targets, workdir, rules=RULES):
    """Prometheus scraping `targets` (one host:port, or a list of them: the replicas of one
    job) and evaluating the rule file `rules` every SCRAPE_INTERVAL. Returns the process and
    its URL."""
    targets = [targets] if isinstance(targets, str) else list(targets)
    config = workdir / "prometheus.yml"
    # JSON is YAML; the job name is the one the TargetDown alert selects.
    config.write_text(
        json.dumps(
            {
                "global": {
                    "scrape_interval": SCRAPE_INTERVAL,
                    "evaluation_interval": SCRAPE_INTERVAL,
                },
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {"job_name": "snackdrawer", "static_configs": [{"targets": targets}]}
                ],
            },
            indent=2,
        )
    )
    promtool("check", "config", config)
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={address}",
            "--enable-feature=exemplar-storage",
            "--log.level=warn",
        ],
        stdout=(workdir / "prometheus.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://{address}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit(
        f"Prometheus did not start; its log:\n{(workdir / 'prometheus.log').read_text()}"
    )


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
