"""Matching the lead's utterances in a recording to the reference's turns (for turns given without times).

The utterances are the VAD's (:func:`reauto.voice.utterances.speech_spans`); when it finds more
utterances than the reference has lead turns, the utterances separated by the shortest pauses are
merged until the counts match.
"""

from __future__ import annotations

from reauto.errors import UsageError


def align(spans: list[tuple[float, float]], turns: int) -> list[tuple[float, float]]:
    """Exactly ``turns`` utterances: merge those with the shortest pauses between them.

    Raises:
        UsageError: the VAD found fewer utterances than there are lead turns.
    """
    if len(spans) < turns:
        raise UsageError(f"the VAD found {len(spans)} utterance(s) in lead.wav but call.yaml has {turns} lead "
                         "turns: give each lead turn its start and end")
    merged = list(spans)
    while len(merged) > turns:
        gaps = [merged[i + 1][0] - merged[i][1] for i in range(len(merged) - 1)]
        i = gaps.index(min(gaps))
        merged[i : i + 2] = [(merged[i][0], merged[i + 1][1])]
    return merged


def group_turns(references: list[str], heard: list[str]) -> list[list[int]]:
    """Which reference turns each heard utterance holds, when there are fewer utterances than turns.

    A live call can split one utterance into two turns (the lead pauses, the agent starts to
    answer): the recording then has fewer utterances than the stored turns. Each utterance gets a
    run of consecutive reference turns (at least one, all in order), chosen to minimise the word
    errors between the joined references and what was heard in it (dynamic programming).
    """
    from reauto.eval.scoring import word_errors

    n, m = len(references), len(heard)
    if not 0 < m <= n:
        raise ValueError(f"cannot spread {n} turns over {m} utterances")
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(m + 1)]
    back = [[0] * (n + 1) for _ in range(m + 1)]
    best[0][0] = 0.0
    for j in range(1, m + 1):
        for i in range(j, n - (m - j) + 1):
            for k in range(j - 1, i):  # utterance j holds references k..i-1
                if best[j - 1][k] == inf:
                    continue
                cost = best[j - 1][k] + word_errors(" ".join(references[k:i]), heard[j - 1]).errors
                if cost < best[j][i]:
                    best[j][i], back[j][i] = cost, k
    groups, i = [], n
    for j in range(m, 0, -1):
        k = back[j][i]
        groups.append(list(range(k, i)))
        i = k
    return groups[::-1]
