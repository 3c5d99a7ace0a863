"""``ts.model_service``: the legacy model-service API (MMS-era handlers)."""

from . import model_service as model_service
