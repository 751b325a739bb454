"""The plugin's own tests run pytest on small test files (``pytester``)."""

pytest_plugins = ["pytester"]
