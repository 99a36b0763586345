"""Durable model state: capture an engine as one ``ModelState``, encode it safely, store and read it back, and
say when the next checkpoint is due (``schedule.py``).

``capture``/``restore`` (engine <-> ModelState), ``encode_state``/``decode_state`` (ModelState <-> bytes, no
pickle), ``StateDirectory`` (file mode) and ``state_records``/``StateAssembler`` (a compacted Kafka topic).
"""

from streamclust.state.model_state import FORMAT_VERSION, ModelState

__all__ = ["FORMAT_VERSION", "ModelState"]
