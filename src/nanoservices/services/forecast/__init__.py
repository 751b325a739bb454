"""World Weather Information Service (WMO WWIS) daily forecasts as a nanoservice.

```python
with forecasts() as weather:  # or forecasts(base_url=local_url)
    for day in weather.stream("Tel Aviv"):  # or weather.stream(44)
        print(day.date, day.weather, day.max_temp_c)
```

Data: WMO World Weather Information Service (worldweather.wmo.int).

``LocalWMOServer`` and ``serve_local_wmo`` (a WWIS stand-in on 127.0.0.1) need the
``http`` extra (starlette, uvicorn) and are imported only when first used.
"""

from typing import TYPE_CHECKING

from ._cities import CityIndex as CityIndex
from ._cities import bundled_cities as bundled_cities
from ._errors import CityLookupError as CityLookupError
from ._errors import ForecastError as ForecastError
from ._errors import ForecastFetchError as ForecastFetchError
from ._errors import ForecastFormatError as ForecastFormatError
from ._fetch import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from ._records import City as City
from ._records import CityForecast as CityForecast
from ._records import CityInfo as CityInfo
from ._records import DailyForecast as DailyForecast
from ._service import forecasts as forecasts

__all__ = [
    "DEFAULT_BASE_URL",
    "City",
    "CityForecast",
    "CityIndex",
    "CityInfo",
    "CityLookupError",
    "DailyForecast",
    "ForecastError",
    "ForecastFetchError",
    "ForecastFormatError",
    "LocalWMOServer",
    "bundled_cities",
    "forecasts",
    "serve_local_wmo",
]

_LAZY = frozenset({"LocalWMOServer", "serve_local_wmo"})

if TYPE_CHECKING:
    from ._local_server import LocalWMOServer as LocalWMOServer
    from ._local_server import serve_local_wmo as serve_local_wmo


def __getattr__(name: str) -> object:
    # The local server needs starlette and uvicorn: load them only on demand.
    if name in _LAZY:
        from . import _local_server

        return getattr(_local_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
