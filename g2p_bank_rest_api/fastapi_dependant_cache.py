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


@lru_cache(maxsize=4096)
def _cached(path, call, name, own_scopes, parent_scopes, use_cache, scope, extra):
    return _get_dependant(
        path=path,
        call=call,
        name=name,
        own_oauth_scopes=list(own_scopes) if own_scopes is not None else None,
        parent_oauth_scopes=list(parent_scopes) if parent_scopes is not None else None,
        use_cache=use_cache,
        scope=scope,
        **dict(extra),
    )


def get_dependant(
    *,
    path,
    call,
    name=None,
    own_oauth_scopes=None,
    parent_oauth_scopes=None,
    use_cache=True,
    scope=None,
    **extra,
):
    try:
        return _cached(
            path,
            call,
            name,
            tuple(own_oauth_scopes) if own_oauth_scopes is not None else None,
            tuple(parent_oauth_scopes) if parent_oauth_scopes is not None else None,
            use_cache,
            scope,
            tuple(sorted(extra.items())),
        )
    except TypeError:  # an unhashable argument: analyse it as FastAPI does
        return _get_dependant(
            path=path,
            call=call,
            name=name,
            own_oauth_scopes=own_oauth_scopes,
            parent_oauth_scopes=parent_oauth_scopes,
            use_cache=use_cache,
            scope=scope,
            **extra,
        )


# solve_dependencies looks get_dependant up in its module at each call.
utils.get_dependant = get_dependant
