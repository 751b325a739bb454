"""Example services: the talk's generators as written, and small native services.

They are importable by module path (``nanoservices.examples.basics:counter``), so
the same code serves the tests, the demo, ``nanoservices serve`` and Ray workers.
"""
