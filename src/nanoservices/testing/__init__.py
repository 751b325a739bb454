"""Testing services: a pytest plugin, and fakes for what services depend on.

Installing the package registers the plugin (a ``pytest11`` entry point;
``pip install '.[testing]'`` brings pytest too):
its fixtures ``start_service``, ``astart_service``, ``service_events``,
``start_on_transport``, ``fake_clock``, ``local_wmo`` and ``people_db`` are
there in every test. The classes behind them work outside pytest too:

```python
with ServiceStarter() as start:          # checks and closes on the way out
    h = start(counter, 100)
    assert h(1) == 101
```
"""

from ._astarter import AsyncServiceStarter as AsyncServiceStarter
from ._checks import leftover as leftover
from ._clock import FakeClock as FakeClock
from ._people import people_database as people_database
from ._starter import LeftoverError as LeftoverError
from ._starter import ServiceStarter as ServiceStarter
from ._transports import TRANSPORTS as TRANSPORTS
from ._transports import TransportStarter as TransportStarter

__all__ = [
    "TRANSPORTS",
    "AsyncServiceStarter",
    "FakeClock",
    "LeftoverError",
    "ServiceStarter",
    "TransportStarter",
    "leftover",
    "people_database",
]
