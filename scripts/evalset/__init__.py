"""Helpers of ``scripts/make_eval_set.py --generate``: wording, conversation flow, voices, line.

- :mod:`evalset.corpus`: the lead's wording, from ``reauto.corpus`` (or a YAML file of entries),
  sorted into what can be said where.
- :mod:`evalset.dialogue`: one call's conversation, following the campaign's scripted flow, and
  the labels a correct agent reaches.
- :mod:`evalset.voices`: the speaking voice (flite, espeak-ng, Piper) and its rate and pitch.
- :mod:`evalset.line`: what the phone line and the room do to the audio.
- :mod:`evalset.render`: one call's ``lead.wav`` and ``call.yaml``.
"""
