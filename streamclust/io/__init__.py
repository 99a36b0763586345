"""The adapters between the outside world and the pure engine: posts in, labels out.

``decode.py`` turns raw bytes into a ``Post``, or a ``DecodeFailure`` that says why not, and ``missing_field.py``
catches input whose first records all lack the field the settings name (both adapters use them); ``files/`` is
file mode, ``kafka/`` the Kafka worker and its tools. The adapters may import the core, ``state/``
and the observer contract (``streamclust/observer.py``, whose reports they send); never ``obs/``, ``report/``,
``evaluate/``, ``bench/`` or the CLI, so no arrow runs back up (``tests/test_package_layers.py``).
"""
