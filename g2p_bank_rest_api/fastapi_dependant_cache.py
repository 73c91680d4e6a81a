"""Dependencies analysed once, not on every request.

As soon as an app has dependency overrides (OCA's fastapi gives every app some),
FastAPI's ``solve_dependencies`` rebuilds each dependency of the route from its
signature on every request (``get_dependant``: signature and type analysis, pydantic
fields). That was about half of the CPU of a bank request. ``get_dependant`` depends
only on its arguments, and its result is only read while solving (FastAPI itself
reuses route dependants across requests), so its results are kept, per argument set.
"""

from functools import lru_cache

from fastapi.dependencies import utils

_get_dependant = utils.get_dependant


def _frozen(value):
    return tuple(value) if isinstance(value, list) else value


@lru_cache(maxsize=4096)
def _cached(key):
    return _get_dependant(
        **{
            name: list(value) if isinstance(value, tuple) else value
            for name, value in key
        }
    )


def get_dependant(**kwargs):
    key = tuple(sorted((name, _frozen(value)) for name, value in kwargs.items()))
    try:
        hash(key)
    except TypeError:  # an unhashable argument: analyse it every time, as FastAPI does
        return _get_dependant(**kwargs)
    return _cached(key)


# solve_dependencies looks get_dependant up in its module at each call.
utils.get_dependant = get_dependant
