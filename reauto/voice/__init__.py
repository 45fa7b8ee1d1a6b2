"""The call's voice path: audio formats, pipeline assembly, turn taking, recording, latency."""
