"""What people run against a deployment, each behind a ``streamclust`` command: ``replay.py`` (re-label the
input with the current model into a topic of its own), ``produce.py`` (a file of posts into the input topic),
``tail.py`` (print what was committed), ``catalog.py`` (the clusters on the catalog topic, for ``inspect``). They
may import the plumbing and ``durability/`` (the model on the state topic); the worker imports none of them.
"""
