"""coldrec: recommendations that stay good for new users, new products and the long tail."""

from coldrec.errors import ColdrecError, ConfigError, DataError, NotFittedError

__version__ = "0.1.0"
__all__ = ["ColdrecError", "ConfigError", "DataError", "NotFittedError", "__version__"]
