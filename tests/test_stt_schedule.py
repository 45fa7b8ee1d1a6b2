"""The order in which a recogniser worker serves its requests (reauto.stt.pool.take_next)."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from reauto.stt.pool import take_next

pytestmark = pytest.mark.unit


def served(messages: list[Any]) -> list[Any]:
    backlog = deque(messages)
    order = []
    while backlog:
        order.append(take_next(backlog))
    return order


def feed(sid: int, n: int) -> tuple[str, int, bytes]:
    return ("feed", sid, bytes([n]))


def test_without_a_waiting_request_messages_are_served_as_they_came() -> None:
    messages = [("begin", 1, (None, None)), feed(1, 0), ("begin", 2, (None, None)), feed(2, 0), feed(1, 1),
                ("cancel", 2, None)]
    assert served(messages) == messages


def test_an_ended_utterance_is_decoded_before_other_calls_audio_and_its_own_audio_stays_in_order() -> None:
    messages = [feed(1, 0), feed(2, 0), feed(1, 1), feed(2, 1), feed(3, 0), feed(2, 2), ("end", 2, (9, 2)),
                feed(1, 2)]
    order = served(messages)
    assert order[:4] == [feed(2, 0), feed(2, 1), feed(2, 2), ("end", 2, (9, 2))]
    assert order[4:] == [feed(1, 0), feed(1, 1), feed(3, 0), feed(1, 2)]


def test_a_whole_segment_goes_before_audio_of_utterances_still_spoken() -> None:
    messages = [feed(1, 0), feed(1, 1), ("transcribe", 7, (b"pcm", None)), feed(1, 2)]
    assert served(messages) == [("transcribe", 7, (b"pcm", None)), feed(1, 0), feed(1, 1), feed(1, 2)]


def test_waiting_requests_keep_their_own_order() -> None:
    messages = [feed(1, 0), feed(2, 0), ("end", 2, (8, 2)), ("end", 1, (9, 1)), ("transcribe", 7, (b"", None))]
    assert served(messages) == [feed(2, 0), ("end", 2, (8, 2)), feed(1, 0), ("end", 1, (9, 1)),
                                ("transcribe", 7, (b"", None))]


def test_an_utterance_begun_and_ended_in_one_batch_is_served_whole_in_order() -> None:
    messages = [feed(1, 0), ("begin", 2, (None, None)), feed(2, 0), ("end", 2, (9, 2))]
    assert served(messages) == [("begin", 2, (None, None)), feed(2, 0), ("end", 2, (9, 2)), feed(1, 0)]


def test_nothing_after_the_stop_message_is_served_before_it() -> None:
    messages = [feed(1, 0), None, ("transcribe", 7, (b"", None))]
    assert served(messages) == [feed(1, 0), None, ("transcribe", 7, (b"", None))]


def test_an_utterance_decoded_while_spoken_ends_before_whole_decodings_that_came_first() -> None:
    live = {2}  # utterance 2 was decoded while spoken: its end is quick
    messages = [("transcribe", 7, (b"", None)), ("end", 1, (8, 1)), feed(2, 0), ("end", 2, (9, 2)), feed(3, 0)]
    backlog = deque(messages)
    order = []
    while backlog:
        order.append(take_next(backlog, lambda sid: sid in live))
    assert order == [feed(2, 0), ("end", 2, (9, 2)), ("transcribe", 7, (b"", None)), ("end", 1, (8, 1)),
                     feed(3, 0)]
