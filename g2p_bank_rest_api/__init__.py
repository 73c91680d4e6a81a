from . import fastapi_dependant_cache
from . import fastapi_dispatcher
from . import models
