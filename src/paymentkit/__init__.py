"""paymentkit: a self-hostable payments backend wire-compatible with Payment Kit's API.

The Python SDK is importable from here: `from paymentkit import PaymentKit, AsyncPaymentKit`
(every name in `paymentkit.sdk.__all__`).
"""

from paymentkit.sdk import *  # noqa: F403 - the SDK's public names are the package's
from paymentkit.sdk import __all__ as _sdk_names

__version__ = "0.1.0"

__all__ = [*_sdk_names, "__version__"]
