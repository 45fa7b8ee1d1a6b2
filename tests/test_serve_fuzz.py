"""``reauto serve`` fuzzed from its own OpenAPI document (schemathesis), as a process on loopback
with the run's PostgreSQL: no answer of 500 or more, no error logged, and a 300 MB chunked body
costs the server less than 50 MB.

Bounded: ``REAUTO_FUZZ_EXAMPLES`` examples per operation and mode (default 100; positive and
negative generation, deterministic) within ``REAUTO_FUZZ_SECONDS`` (default 60) in all, shared
equally by the operations and modes (on a busy machine the last ones still get their turn); about
20 s on two cores.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psutil
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from reauto.store.models import Base

from .conftest import LEAKS
from .fakes.crm.followupboss import FakeFollowUpBoss, person

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("REAUTO_FUZZ_EXAMPLES", "100"))
#: Wall-clock budget of the fuzzing, all operations together; cases past it are not sent.
BUDGET_S = float(os.environ.get("REAUTO_FUZZ_SECONDS", "60"))
AUTH_TOKEN = "fuzz-twilio-token"
PUBLIC = "https://calls.example.com"
API_KEY = "fuzz-intake-key"
FORM_TOKEN = "fuzz-form-token-0123456789"
CAMPAIGN = "fuzz"
SYSTEM_KEY = "fuzz-fub-system-key"


class Served:
    """A ``reauto serve`` process, the Follow Up Boss double it reads, and where they listen."""

    def __init__(self, process: subprocess.Popen[str], base: str, crm: FakeFollowUpBoss) -> None:
        self.process, self.base, self.crm = process, base, crm
        self.statuses: dict[str, list[int]] = {}

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tables(url: str, sql: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="module")
def served(pg_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    url = pg_settings.database.url.replace("+asyncpg", "+psycopg")
    _tables(url, f"INSERT INTO campaigns (name, config, active, created_at, updated_at) "
                 f"VALUES ('{CAMPAIGN}', '{{}}', true, now(), now())")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    crm = FakeFollowUpBoss(system_key=SYSTEM_KEY)
    for person_id in range(1, 21):
        crm.people[person_id] = person(person_id, "Fuzz", "Lead", f"(512) 555-{person_id:04d}")
    asyncio.run_coroutine_threadsafe(crm.start(), loop).result(10)
    port = _free_port()
    inherited = {k: v for k, v in os.environ.items() if k.startswith("REAUTO_TEST_")}  # a shifted clock
    env = {
        **inherited, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "REAUTO_DATABASE_URL": pg_settings.database.url, "REAUTO_LOG_LEVEL": "INFO",
        "REAUTO_TWILIO_AUTH_TOKEN": AUTH_TOKEN, "REAUTO_TWILIO_PUBLIC_URL": PUBLIC,
        "REAUTO_INTAKE_API_KEYS": json.dumps([API_KEY]),
        "REAUTO_INTAKE_FORMS": json.dumps({"web": {"campaign": CAMPAIGN, "token": FORM_TOKEN,
                                                   "fields": {"phone": "your-phone"}, "consent_field": "tcpa"}}),
        "REAUTO_FOLLOWUPBOSS_API_KEY": crm.api_key, "REAUTO_FOLLOWUPBOSS_SYSTEM": crm.system,
        "REAUTO_FOLLOWUPBOSS_SYSTEM_KEY": crm.system_key, "REAUTO_FOLLOWUPBOSS_BASE_URL": crm.url,
        "REAUTO_FOLLOWUPBOSS_INTAKE_CAMPAIGN": CAMPAIGN, "REAUTO_FOLLOWUPBOSS_TIMEOUT_S": "2",
    }
    cwd = tmp_path_factory.mktemp("serve")
    log = cwd / "stderr.log"  # a file, not a pipe: a full pipe would stop the server mid-run
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "reauto.cli.main", "serve", "--port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=stderr, text=True, env=env, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        process.wait()
        pytest.fail(f"reauto serve did not start: {log.read_text(encoding='utf-8')[-2000:]}")
    srv = Served(process, base, crm)
    try:
        yield srv
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        err = log.read_text(encoding="utf-8")
        asyncio.run_coroutine_threadsafe(crm.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        _tables(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        LEAKS.scan(err, "stderr of reauto serve")
    errors = [line for line in err.splitlines() if " ERROR " in line or " CRITICAL " in line or "Traceback" in line]
    assert process.returncode == 0 and errors == [], "\n".join(errors[:20]) or err[-2000:]


#: The committed OpenAPI document (``docs/openapi.json``, generated from the app): what is fuzzed.
SCHEMA = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.json"))
OPERATIONS = [(label, mode) for label in sorted(r.ok().label for r in SCHEMA.get_all_operations())
              for mode in GenerationMode if mode == GenerationMode.POSITIVE or label.startswith("POST")]


def _credentials(case: Any) -> dict[str, Any]:
    """What a legitimate sender adds: the API key, Twilio's or Follow Up Boss's signature of the
    generated body, the form's token; the fuzzed parts stay as generated."""
    path = case.formatted_path
    if path.startswith("/v1/leads"):
        # half the cases name the real campaign, so the leads reach validation and the store
        name = str((case.query or {}).get("campaign", ""))
        return {"headers": {"Authorization": f"Bearer {API_KEY}"},
                **({"params": {"campaign": CAMPAIGN}} if len(name) % 2 == 0 else {})}
    if path.startswith("/v1/forms/"):
        if len(case.path_parameters.get("name", "")) % 2 == 0:  # half to the configured form
            case.path_parameters["name"] = "web"
        return {"params": {"token": FORM_TOKEN}}
    if path.startswith("/twilio/") and isinstance(case.body, dict):
        form = {str(k): str(v) for k, v in case.body.items()}
        if path.startswith("/twilio/status/") and len(form) % 2 == 0:  # half with a status Twilio sends
            form["CallStatus"] = "completed"
        # the server checks the URL it was asked for, decoded (Twilio's call ids are digits: the same)
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + unquote(path), form)
        return {"headers": {"X-Twilio-Signature": signature}, "data": form}
    if path == "/v1/webhooks/followupboss":
        try:
            body = json.dumps(case.body).encode()
        except (TypeError, ValueError):  # no body generated
            return {}
        digest = hmac.new(SYSTEM_KEY.encode(), base64.b64encode(body), hashlib.sha256).hexdigest()
        return {"headers": {"FUB-Signature": digest, "Content-Type": "application/json"}, "data": body}
    return {}


def test_the_served_document_is_the_fuzzed_one(served: Served) -> None:
    live = requests.get(f"{served.base}/openapi.json", timeout=10).json()
    assert live["paths"] == SCHEMA.raw_schema["paths"]


@pytest.mark.parametrize(("label", "mode"), OPERATIONS, ids=[f"{label} {mode.value}" for label, mode in OPERATIONS])
def test_no_endpoint_answers_a_server_error(served: Served, label: str, mode: GenerationMode) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    answered = served.statuses.setdefault(label, [])
    turn_ends = time.monotonic() + BUDGET_S / len(OPERATIONS)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def exchange(case: Any) -> None:
        if time.monotonic() > turn_ends:
            return
        extra = _credentials(case)
        headers = extra.pop("headers", {})
        response = case.call(base_url=served.base, headers=headers, timeout=15, **extra)
        answered.append(response.status_code)
        assert response.status_code < 500, f"{response.status_code} {response.text[:300]}"
        kind = response.headers.get("content-type") or [""]
        if response.status_code >= 400 and kind[0].startswith("application/json"):
            assert json.loads(response.text).get("detail"), response.text[:300]

    exchange()


def test_fuzzing_reached_past_authentication(served: Served) -> None:
    """The signed and keyed requests got answers other than 401/403: the handlers' own code ran."""
    deep = {op: [s for s in codes if s not in (401, 403)] for op, codes in served.statuses.items()}
    for operation in ("POST /v1/leads", "POST /v1/forms/{name}", "POST /twilio/status/{call_id}",
                      "POST /twilio/amd/{call_id}", "POST /v1/webhooks/followupboss"):
        assert deep.get(operation), f"{operation}: {served.statuses.get(operation)}"
    assert sum(map(len, served.statuses.values())) >= EXAMPLES * 10
    assert any(s == 200 for s in served.statuses["POST /v1/leads"])
    print({op: sorted(set(codes)) for op, codes in served.statuses.items()})


def test_random_media_frames_are_refused_and_the_server_stays_up(served: Served) -> None:
    from websockets.sync.client import connect

    frames: list[str | bytes] = [b"\x00" * 10, b"", "", "{", "[" * 5000, "null", '{"event": "start"}',
                                 '{"event": "start", "start": []}', json.dumps({"event": "connected"}) * 2,
                                 "\ud800".encode("utf-8", "surrogatepass"), "é" * 1000]
    codes = []
    for frame in frames:
        with connect(f"{served.base.replace('http', 'ws')}/media/1", open_timeout=5, close_timeout=5) as ws:
            try:
                ws.send(frame)
                ws.recv(timeout=15)
            except Exception as exc:  # noqa: BLE001 - the close is what is measured
                codes.append(getattr(getattr(exc, "rcvd", None), "code", None))
    assert set(codes) <= {1003, 1008} and len(codes) == len(frames), codes
    assert requests.get(f"{served.base}/healthz", timeout=5).status_code == 200


def _peak_after(served: Served, send: Any) -> tuple[int, float, int]:
    """Peak RSS growth (bytes) of the server while ``send`` runs, its wall time, the bytes sent.

    The peak is the kernel's high-water mark (``VmHWM``, reset through ``clear_refs``), so a
    spike between two samples is not missed; where that cannot be reset, RSS is sampled.
    """
    proc = Path(f"/proc/{served.process.pid}")
    try:
        (proc / "clear_refs").write_text("5")
        exact = True
    except OSError:
        exact = False
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(served.rss())
            time.sleep(0.002)

    before = served.rss()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    sent = send()
    wall = time.monotonic() - started
    time.sleep(0.2)
    done.set()
    sampler.join()
    peak = max([*samples, served.rss()])
    if exact:
        status = (proc / "status").read_text()
        peak = max(peak, 1024 * int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:"))))
    return peak - before, wall, sent


@pytest.mark.parametrize("path", ["/v1/leads?campaign=fuzz", "/twilio/status/1"])
def test_a_300_mb_chunked_body_costs_the_server_under_50_mb(served: Served, path: str) -> None:
    total = 300 * 1024 * 1024
    chunk = b"[" * (256 * 1024)

    def send() -> int:
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            while sent < total:
                sent += len(chunk)
                yield chunk

        try:
            response = requests.post(served.base + path, data=body(), timeout=60,
                                     headers={"Content-Type": "application/json"})
            assert response.status_code == 413, response.text
        except requests.ConnectionError:
            pass  # the server answered 413 and closed while the body was still streaming
        return sent

    growth, wall, sent = _peak_after(served, send)
    print(f"{path}: server RSS +{growth / 2**20:.1f} MB, {sent / 2**20:.0f} MB sent before the cut, {wall:.2f} s")
    assert growth < 50 * 2**20 and sent < total / 10 and wall < 30
    assert requests.get(f"{served.base}/healthz", timeout=5).status_code == 200
