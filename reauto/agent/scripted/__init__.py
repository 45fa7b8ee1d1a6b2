"""The scripted brain: the campaign's qualification flow with rule-based understanding.

Agents and transitions, one shared history: ``greeter`` (identification, AI disclosure, opt-out,
recording notice) → ``qualifier`` (the campaign's questions) → ``objection`` (robot question,
busy, human request) → ``scheduler`` (two concrete slots) → ``closer``; ``voicemail`` and
``dnc`` paths end the call. It needs no LLM and is the fallback when one is down.

:mod:`.script` holds what the brain is given (``ScriptConfig``, ``Question``) and its set lines
(``ENDINGS``); :mod:`.brain` is the brain itself (``ScriptedBrain``), with the scheduler's steps in
:mod:`.scheduler` and the transfer to a person in :mod:`.transfer`.
"""
