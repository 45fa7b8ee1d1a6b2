"""Cost control: the catalogue, the per-call meter, budget counters under races and restarts."""

import asyncio
import random
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiohttp import web

from reauto.config import BudgetSettings, PricingSettings
from reauto.costs.alerts import Alerter
from reauto.costs.budget import GLOBAL, BudgetGuard, Window, campaign_scope, period_bounds, to_micros
from reauto.costs.meter import CostMeter
from reauto.costs.pricing import Catalogue
from reauto.costs.reservations import Counter, MemoryReservations, RedisReservations
from reauto.errors import ConfigError
from reauto.store.engine import session_factory
from reauto.store.models import Budget, BudgetPeriod, Call, Campaign, CostEntry, Lead
from reauto.tts.base import TTSProvider
from reauto.tts.cache import AudioCache, CachedTTS
from reauto.tts.elevenlabs import elevenlabs_usage
from reauto.tts.metered import MeteredTTS
from reauto.usage import current_meter, usage

CAT = Catalogue(PricingSettings())


# --- catalogue and meter -----------------------------------------------------------------------
@pytest.mark.unit
def test_catalogue_prices_each_component_and_takes_campaign_overrides():
    assert CAT.price("telephony", "twilio").unit_price == Decimal("0.014")
    assert CAT.price("telephony", "sim").unit_price == Decimal("0.014")  # priced as twilio
    assert CAT.price("amd", "sim").unit == "call"
    assert CAT.price("stt", "pocketsphinx").unit_price == 0
    assert CAT.price("tts", "elevenlabs:eleven_flash_v2_5") .unit == "credit"
    assert CAT.price("tts", "unknown-voice").unit_price == 0
    hosted = Catalogue(PricingSettings(), {"llm_per_1k_tokens": {"gpt-x": 0.6}})
    assert hosted.price("llm", "ollama:gpt-x").unit_price == Decimal("0.0006")
    gpu = Catalogue(PricingSettings(), {"llm_gpu_hour_usd": 1.8, "llm_tokens_per_second": 50})
    assert gpu.price("llm", "ollama:llama3.2:3b").unit_price == Decimal("1.8") / 3600 / 50
    # a 3-minute call on the local tier at list prices: 3 × (0.014 + 0.004) + 0.0075
    assert CAT.call_estimate("sim", 3.0, amd=True) == Decimal("0.0615")
    assert CAT.call_estimate("twilio", 2.5, amd=False) == Decimal("0.054")  # started minutes
    with pytest.raises(ConfigError, match="campaign pricing.telephony_per_min"):
        Catalogue(PricingSettings(), {"telephony_per_min": {"twilio": -1}})
    with pytest.raises(ValueError, match="unknown cost component"):
        CAT.price("coffee", "x")


@pytest.mark.unit
def test_ledger_lines_are_quantity_times_price_to_the_micro_dollar():
    meter = CostMeter(CAT)
    meter.record_call_time("sim", 125.0, amd=True)  # 3 started minutes
    meter.record("stt", "pocketsphinx", 2.5, "second")
    el = Catalogue(PricingSettings(), {"elevenlabs_usd_per_credit": 0.00022})
    premium = CostMeter(el)
    premium.record("tts", "elevenlabs:eleven_flash_v2_5", 37, "credit")
    assert [line.arithmetic() for line in meter.lines[:3]] == [
        "3 minute × $0.014000 = $0.042000", "3 minute × $0.004000 = $0.012000", "1 call × $0.007500 = $0.007500"]
    assert meter.total == Decimal("0.0615") and meter.by_component()["telephony"] == Decimal("0.042")
    assert premium.total == Decimal("0.00814")
    for line in meter.lines + premium.lines:
        assert line.amount == (line.quantity * line.unit_price).quantize(Decimal("0.000001"))
    with pytest.raises(ValueError, match="priced per minute, not per second"):
        meter.record("telephony", "sim", 3, "second")
    unanswered = CostMeter(CAT)
    unanswered.record_call_time("sim", 0, amd=False)
    assert unanswered.lines == []


async def test_usage_lands_in_the_meter_of_the_call_whose_task_runs():
    a, b = CostMeter(CAT), CostMeter(CAT)

    async def call(meter, seconds):
        current_meter.set(meter)
        await asyncio.sleep(0)
        await asyncio.create_task(asyncio.sleep(0))  # tasks the call starts inherit its meter
        usage("stt", "pocketsphinx", seconds, "second")
        elevenlabs_usage("eleven_flash_v2_5", 10, None)  # 0.5 credit per character
        elevenlabs_usage("eleven_flash_v2_5", 10, 7)  # the character-cost header wins

    await asyncio.gather(call(a, 1.5), call(b, 4.0))
    assert [line.quantity for line in a.lines] == [Decimal("1.5"), Decimal("5.0"), Decimal("7")]
    assert [line.quantity for line in b.lines][0] == Decimal("4.0")
    usage("stt", "pocketsphinx", 1.0)  # outside a call: nowhere to go, no error


class _Voice(TTSProvider):
    name = "flite"

    def __init__(self):
        self.calls = 0

    async def synthesize(self, text):
        self.calls += 1
        yield b"\x00\x00" * 160


async def test_metered_tts_charges_synthesis_but_not_cache_hits():
    inner = _Voice()
    tts = CachedTTS(MeteredTTS(inner), AudioCache())
    meter = CostMeter(CAT)
    current_meter.set(meter)
    for _ in range(3):
        assert [c async for c in tts.synthesize("Hello there")]
    assert inner.calls == 1 and [(line.component, line.quantity) for line in meter.lines] == [("tts", 11)]
    current_meter.set(None)


# --- budget counters ---------------------------------------------------------------------------
@pytest.mark.unit
def test_periods_are_utc_days_weeks_from_monday_and_months():
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # a Wednesday
    assert period_bounds("daily", now) == (datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))
    assert period_bounds("weekly", now) == (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert period_bounds("monthly", datetime(2026, 12, 31, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.fixture(params=["memory", "redis"])
async def counters(request, redis_settings):
    if request.param == "memory":
        store = MemoryReservations()
    else:
        store = RedisReservations(redis_settings.url, prefix=redis_settings.key_prefix)
    yield store
    await store.close()


@pytest.mark.integration
async def test_reserve_is_all_or_nothing_and_settle_turns_a_hold_into_spend(counters):
    day, campaign = Counter("global:d", 1_000, 2_000_000_000), Counter("campaign:x:d", 500, 2_000_000_000)
    assert await counters.reserve([day, campaign], "c1", 100) is None  # unknown windows: restore first
    await counters.restore(day, 0, {})
    await counters.restore(campaign, 0, {})
    await counters.restore(campaign, 999, {})  # restoring an existing window changes nothing
    assert await counters.reserve([day, campaign], "c1", 400) is True
    assert await counters.reserve([day, campaign], "c2", 200) is False  # campaign: 400 + 200 > 500
    assert await counters.snapshot(day) == (0, 400)  # the refused hold touched no window
    assert await counters.reserve([day, campaign], "c1", 100) is True  # top-up of the same hold
    await counters.settle([day, campaign], "c1", 350)
    assert await counters.snapshot(day) == (350, 0) and await counters.snapshot(campaign) == (350, 0)
    await counters.settle([day, campaign], "c1", 350)  # settling twice adds nothing
    assert await counters.snapshot(campaign) == (350, 0)


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_fifty_concurrent_calls_never_overspend_a_budget_for_twenty(backend, redis_settings):
    """Race: 50 calls at once against $1.23 (20 calls of $0.0615): none is dialed without a hold,
    running calls top up a minute at a time and end when refused; total spend ≤ the budget."""
    store = (MemoryReservations() if backend == "memory"
             else RedisReservations(redis_settings.url, prefix=redis_settings.key_prefix))
    counter = Counter("campaign:race:d", to_micros(Decimal("1.23")), 2_000_000_000)
    await store.restore(counter, 0, {})
    estimate, minute = to_micros(Decimal("0.0615")), to_micros(Decimal("0.018"))
    rng = random.Random(7)
    dialed, refused, spent_total = [], [], 0

    async def call(i):
        nonlocal spent_total
        await asyncio.sleep(rng.random() * 0.01)
        if not await store.reserve([counter], f"c{i}", estimate):
            refused.append(i)
            return
        dialed.append(i)
        held, spent = estimate, to_micros(Decimal("0.0075"))  # AMD
        for _ in range(rng.randint(1, 6)):  # minutes the lead would talk
            if spent + minute > held:
                if not await store.reserve([counter], f"c{i}", minute):
                    break  # the call is ended: the budget cannot cover another minute
                held += minute
            spent += minute
            await asyncio.sleep(0)
        assert spent <= held
        spent_total += spent
        await store.settle([counter], f"c{i}", spent)

    await asyncio.gather(*(call(i) for i in range(50)))
    final_spent, reserved = await store.snapshot(counter)
    assert reserved == 0 and final_spent == spent_total <= counter.limit
    assert len(dialed) + len(refused) == 50 and 15 <= len(dialed) <= 40 and refused
    await store.close()


@pytest.mark.integration
@pytest.mark.slow
async def test_budget_counters_survive_a_redis_restart(pg_engine):
    """A private redis-server on loopback is killed mid-campaign and started again, empty: the
    guard rebuilds the counters from the cost ledger and the holds still running."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server binary not installed (scripts/test installs it)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def start():
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no"], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        camp = Campaign(name="restart", config={}, config_hash="x")
        s.add(camp)
        await s.flush()
        lead = Lead(campaign_id=camp.id, phone_e164="+15125550123")
        s.add(lead)
        await s.flush()
        call = Call(campaign_id=camp.id, lead_id=lead.id, provider="sim")
        s.add(call)
        await s.flush()
        s.add(Budget(scope=campaign_scope("restart"), period=BudgetPeriod.DAILY, amount=Decimal("0.18")))
        s.add(CostEntry(call_id=call.id, campaign_id=camp.id, component="telephony", provider="sim",
                        quantity=Decimal(5), unit="minute", unit_price=Decimal("0.014"), amount=Decimal("0.07")))
    proc = start()
    try:
        store = RedisReservations(f"redis://127.0.0.1:{port}/0", timeout_s=1.0)
        guard = BudgetGuard(sessions, store, BudgetSettings(), "restart")
        first = await guard.hold("a", Decimal("0.0615"))  # 0.07 already spent (ledger) + 0.0615
        assert first is not None and await guard.utilisation() == pytest.approx((0.07 + 0.0615) / 0.18)
        proc.kill()
        proc.wait()
        proc = start()  # empty: no persistence
        await asyncio.sleep(0.2)
        # the lost counters come back from the ledger (0.07) and the running hold (0.0615)
        assert await guard.hold("b", Decimal("0.0615")) is None  # 0.07 + 0.0615 + 0.0615 > 0.18
        assert await guard.utilisation() == pytest.approx((0.07 + 0.0615) / 0.18)
        await guard.settle(first, Decimal("0.0255"))
        assert await guard.hold("c", Decimal("0.0615")) is not None  # 0.07 + 0.0255 + 0.0615 ≤ 0.18
        await store.close()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.integration
async def test_guard_without_budgets_always_holds_and_alerts_once_per_level(pg_engine):
    sessions = session_factory(pg_engine)
    alerts = Alerter(BudgetSettings())
    guard = BudgetGuard(sessions, MemoryReservations(), BudgetSettings(), "none", alerts=alerts)
    assert await guard.hold("x", Decimal("5")) is not None and await guard.utilisation() == 0.0
    async with sessions.begin() as s:
        s.add(Budget(scope=GLOBAL, period=BudgetPeriod.MONTHLY, amount=Decimal("1.00")))
    guard = BudgetGuard(sessions, MemoryReservations(), BudgetSettings(premium_off_at=0.8), "none", alerts=alerts)
    hold = await guard.hold("y", Decimal("0.6"))
    await guard.settle(hold, Decimal("0.55"))
    assert not guard.premium_off
    hold = await guard.hold("z", Decimal("0.3"))  # 0.55 spent + 0.3 held: the breaker turns premium off
    assert guard.premium_off and guard.last_utilisation == pytest.approx(0.85)
    await guard.settle(hold, Decimal("0.30"))
    assert [a["level"] for a in alerts.raised if a["kind"] == "budget"] == [0.5, 0.8]
    assert [a["action"] for a in alerts.raised if a["kind"] == "breaker"] == ["premium_tts_off"]
    await guard.check_alerts(await guard.windows())
    assert len(alerts.raised) == 3


@pytest.mark.integration
async def test_alert_webhook_gets_json_retries_and_trips_its_breaker():
    received, statuses = [], iter([500, 200])

    async def hook(request):
        received.append(await request.json())
        return web.Response(status=next(statuses, 503))

    app = web.Application()
    app.router.add_post("/alerts", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        alerts = Alerter(BudgetSettings(alert_webhook=f"http://127.0.0.1:{port}/alerts", alert_timeout_s=1.0),
                         retries=1)
        start = datetime(2026, 11, 25, tzinfo=UTC)
        await alerts.utilisation("global", "daily", start, Decimal("9"), Decimal("10"))
        assert [r["level"] for r in received] == [0.5, 0.5, 0.8, 0.8]  # 500 retried → 200; 503 twice
        assert received[0]["scope"] == "global" and received[0]["budget_usd"] == "10"
        for _ in range(3):  # the endpoint keeps failing: the breaker opens and stops calling it
            await alerts.raise_alert({"kind": "test"})
        calls = len(received)
        await alerts.raise_alert({"kind": "test"})
        assert len(received) == calls and alerts.breaker.state == "open"
    finally:
        await runner.cleanup()


@pytest.mark.unit
def test_window_counter_limit_applies_the_stop_dialing_level():
    start, end = period_bounds("daily", datetime(2026, 11, 25, tzinfo=UTC))
    w = Window("global", BudgetPeriod.DAILY, Decimal("10"), start, end, stop_at=0.9)
    assert w.counter.limit == 9_000_000 and w.counter.key == "global:daily:20261125"


# --- the voice tier rule on live calls ---------------------------------------------------------
async def test_tier_rule_reads_score_budget_and_share_and_premium_bills_elevenlabs_credits(caplog):
    from reauto.config import ElevenLabsSettings, TtsSettings
    from reauto.costs.tiering import TierStats, tiered_tts
    from reauto.tts.factory import create_tiers
    from reauto.tts.tier import TieredTTS

    from .fakes.elevenlabs import FakeElevenLabs

    async with FakeElevenLabs() as fake:
        settings = TtsSettings(local="flite", flite={"voice": "kal16"}, premium="elevenlabs",
                               elevenlabs=ElevenLabsSettings(api_key=fake.api_key, voice_id=fake.voice_id,
                                                             base_url=fake.url))
        tiers = create_tiers(settings, cache=AudioCache(), meter=True)
        assert tiered_tts(tiers, mode="local", share_cap=0.3, premium_off_at=0.9, utilisation=lambda: 0.0) \
            is tiers.local
        utilisation, stats = [0.0], TierStats()
        tts = tiered_tts(tiers, mode="auto", share_cap=0.5, premium_off_at=0.9, utilisation=lambda: utilisation[0],
                         stats=stats)
        assert isinstance(tts, TieredTTS)
        await tts.start()
        meter = CostMeter(CAT)
        current_meter.set(meter)
        score = [0.9]
        meter.lead_score = lambda: score[0]
        caplog.set_level("INFO", logger="reauto.costs.tiering")

        async def say(text):
            assert [c async for c in tts.synthesize(text)]
            return tts.last_decision

        assert (await say("Would Tuesday at ten work for you?")).tier == "premium"  # promising lead
        stats.premium, stats.local = 0, 10  # a campaign well under its premium share
        score[0] = 0.3
        assert (await say("What budget do you have in mind?")).reason == "low_score"
        score[0], utilisation[0] = 0.95, 0.92
        assert (await say("Thanks, goodbye.")).reason == "budget_ceiling"  # emergency breaker
        utilisation[0] = 0.0
        stats.premium, stats.local = 5, 1  # the campaign's premium share is over its cap
        assert (await say("One more thing.")).reason == "share_cap"
        premium_lines = [line for line in meter.lines if line.provider.startswith("elevenlabs")]
        assert len(premium_lines) == 1 and premium_lines[0].unit == "credit"
        assert premium_lines[0].quantity == len("Would Tuesday at ten work for you?")  # character-cost header
        assert {line.provider for line in meter.lines} == {"elevenlabs:eleven_flash_v2_5", "flite"}
        assert "tts tier decision" in caplog.text and "lead_score" in caplog.text
        current_meter.set(None)
        await tts.close()


@pytest.mark.integration
async def test_unreachable_counters_fail_closed(pg_engine):
    """With the shared counters down no call can prove its money is there: nothing is dialed."""
    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        s.add(Budget(scope=GLOBAL, period=BudgetPeriod.DAILY, amount=Decimal("5")))
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisReservations(f"redis://127.0.0.1:{port}/0", timeout_s=0.5)
    guard = BudgetGuard(sessions, store, BudgetSettings(), "down")
    from reauto.costs.budget import CountersUnavailable, Hold

    with pytest.raises(CountersUnavailable):  # not a refusal: nothing may be spent until they answer
        await guard.hold("a", Decimal("0.06"))
    assert guard.holds == {} and await guard.utilisation() == guard.last_utilisation  # the last reading

    await guard.settle(Hold("b", await guard.windows(), Decimal("0.06")), Decimal("0.02"))  # logged, not raised
    await store.close()
